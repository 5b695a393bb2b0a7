//! Private files written whole: 0700 folders, 0600 files, a temp file and a rename, signals
//! held for that instant. Shared by the cache and the credentials file; knows nothing of
//! what the files hold.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `dir` and its parents, 0700 where it creates them.
pub fn make_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Open options that create files 0600.
pub fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Writes `name` in `dir` through a temp file in the same dir and a rename, so a reader sees
/// the old file or the new one, never half of one.
pub fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    make_dir(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    // A Ctrl-C between creating the temp file and renaming it would leave it behind: hold
    // such signals until the rename is done (they are delivered right after).
    let _hold = HoldSignals::new();
    let result = (|| {
        let mut f = private_options().write(true).create_new(true).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Blocks SIGINT, SIGTERM and SIGHUP for as long as it lives.
pub struct HoldSignals {
    #[cfg(unix)]
    old: libc::sigset_t,
}

impl HoldSignals {
    pub fn new() -> Self {
        #[cfg(unix)]
        // SAFETY: plain calls on sigset_t values owned here; pthread_sigmask only changes
        // this thread's mask, restored in Drop.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            HoldSignals { old }
        }
        #[cfg(not(unix))]
        HoldSignals {}
    }
}

impl Default for HoldSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for HoldSignals {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the mask saved in new().
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}
