//! `--verbose`: what stsenv is doing, step by step, on stderr. Only names, ARNs, paths and
//! URLs are ever passed here, never a key, secret or token.

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Prints the message only with --verbose; the closure keeps the formatting off the fast path.
pub fn say(msg: impl FnOnce() -> String) {
    if ON.load(Ordering::Relaxed) {
        crate::error::say(&format!("[verbose] {}", msg()));
    }
}
