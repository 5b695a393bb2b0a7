//! The user's terminal, for what must never go to stdout (prompts, sign-in codes, progress):
//! `/dev/tty` when it opens, and whether a person can be asked anything at all.

use std::fs::{File, OpenOptions};

fn path() -> &'static str {
    if cfg!(windows) {
        "CONIN$"
    } else {
        "/dev/tty"
    }
}

/// The controlling terminal, for reading and writing, if there is one.
pub fn open() -> Option<File> {
    OpenOptions::new().read(true).write(true).open(path()).ok()
}

/// Whether a person can be asked to act: a terminal opens and `CI` is not set (a CI job that
/// happens to have a terminal must still fail fast rather than wait for nobody).
pub fn interactive() -> bool {
    std::env::var_os("CI").is_none_or(|v| v.is_empty()) && open().is_some()
}
