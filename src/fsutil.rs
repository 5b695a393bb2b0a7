//! Private files written whole: 0700 folders, 0600 files, a temp file and a rename, signals
//! held for that instant. Shared by the cache and the credentials file; knows nothing of
//! what the files hold.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use crate::error::Error;

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

/// Why `dir` can't hold private files, if it can't: it exists but is not a folder of this
/// user's, or others may write in it (a planted entry or link would then be trusted).
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    // Through a symlink (a cache folder may live elsewhere): the folder itself counts.
    let meta = match fs::metadata(dir) {
        Ok(m) if m.is_dir() => m,
        // Not there, or not a folder: creating it is what fails, later, if anything.
        Ok(_) => return Ok(()),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::NotADirectory =>
        {
            return Ok(())
        }
        Err(e) => return Err(format!("{} can't be read ({e})", dir.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(format!("{} belongs to another user", dir.display()));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "others can write in {} (chmod 700 it)",
                dir.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// Creates `dir` (0700) if needed, then checks it as `check_private_dir` does.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    make_dir(dir).map_err(|e| format!("cannot create {} ({e})", dir.display()))?;
    check_private_dir(dir)
}

/// Opens `path` without following a link at it and without blocking on a FIFO (`create`: make
/// it 0600 if missing), and keeps it only if it is a regular file of this user's that no one
/// else can write. One that others can read is made 0600 through the open file, never by path.
pub fn open_private(path: &Path, create: bool) -> std::io::Result<File> {
    let mut o = private_options();
    o.read(true);
    if create {
        o.write(true).create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = o.open(path)?;
    let meta = file.metadata()?;
    let refuse = |why: &str| Err(std::io::Error::other(format!("{}: {why}", path.display())));
    if !meta.is_file() {
        return refuse("not a regular file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // SAFETY: geteuid has no preconditions.
        if meta.uid() != unsafe { libc::geteuid() } {
            return refuse("owned by another user");
        }
        let mode = meta.mode();
        if mode & 0o022 != 0 {
            return refuse("writable by others");
        }
        if mode & 0o044 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// A text file the user named (a config file, a policy): None when it doesn't exist, Err
/// saying why it can't be read. `/dev/null` reads as empty, as the AWS CLI reads it; any
/// other file that isn't a regular file (a FIFO, a device) is refused without blocking, and
/// one over `max` bytes is refused rather than read without bound.
pub fn read_text(path: &Path, max: u64) -> Result<Option<String>, String> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    let file = match o.open(path) {
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::NotADirectory =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e.to_string()),
        Ok(f) => f,
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("it is a directory".into());
    }
    if !meta.is_file() {
        if path == Path::new("/dev/null") {
            return Ok(Some(String::new()));
        }
        return Err("it is not a regular file".into());
    }
    let bytes = read_capped(file, max).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map(Some).map_err(|e| {
        format!(
            "it is not UTF-8 text: byte {} is not",
            e.utf8_error().valid_up_to() + 1
        )
    })
}

/// A private file's JSON (see `open_private`), at most `max` bytes; None for anything
/// unreadable, unparsable, not a regular file of this user's, or writable by others (what
/// someone else could have planted is not trusted).
pub fn read_private_json(path: &Path, max: u64) -> Option<serde_json::Value> {
    let file = open_private(path, false).ok()?;
    serde_json::from_slice(&read_capped(file, max).ok()?).ok()
}

/// At most `max` bytes of `file`; more is an error rather than memory without bound.
pub fn read_capped(file: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "larger than {} KiB",
            max / 1024
        )));
    }
    Ok(buf)
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
/// the old file or the new one, never half of one. The file is 0600.
pub fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    write_atomic_mode(dir, name, text, 0o600)
}

/// `write_atomic` with the file's mode given.
pub fn write_atomic_mode(dir: &Path, name: &str, text: &str, mode: u32) -> std::io::Result<()> {
    write_atomic_with(dir, name, text, mode, true)
}

/// `write_atomic` without waiting for the disk: for what a crash may lose without harm (the
/// picker's counts), where an fsync would cost an assume more than the rest of it.
pub fn write_atomic_unsynced(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    write_atomic_with(dir, name, text, 0o600, false)
}

fn write_atomic_with(
    dir: &Path,
    name: &str,
    text: &str,
    mode: u32,
    sync: bool,
) -> std::io::Result<()> {
    make_dir(dir)?;
    remove_stale_temps(dir, name);
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
        #[cfg(unix)]
        if mode != 0o600 {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        f.write_all(text.as_bytes())?;
        if sync {
            f.sync_all()?;
        }
        fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Temp files of `write_atomic` for `name` that a killed run (kill -9) left behind: those of
/// a process that no longer exists.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(list) = fs::read_dir(dir) else { return };
    for entry in list.flatten() {
        let file = entry.file_name();
        let Some(rest) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let mut parts = rest.split('.');
        let (Some(pid), Some(nanos), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(pid), true) = (
            pid.parse::<i32>(),
            nanos.bytes().all(|b| b.is_ascii_digit()),
        ) else {
            continue;
        };
        if !process_exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn process_exists(pid: i32) -> bool {
    #[cfg(unix)]
    {
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        alive || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// How long a writer waits for another one that holds the lock of the same file.
const EDIT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Rewrites the file at `path` in place of the user: `edit` gets its text ("" when it doesn't
/// exist yet) and returns the new text, or None to leave the file alone. Another stsenv
/// writing the same file waits (an advisory lock on a sibling lock file). A symlink is
/// followed and kept; a hard-linked file is written through its inode, so every link sees
/// the change; anything but a regular file is refused. `mode`: the new file's mode, or for
/// an existing one, None to keep its own.
pub fn edit_file(
    path: &Path,
    mode: Option<u32>,
    edit: impl FnOnce(&str) -> Result<Option<String>, Error>,
) -> Result<(), Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", path.display());
    let meta = match fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(Error::File(format!(
                "{} is not a regular file (a device, folder or pipe); refusing to replace it: point the variable at a file",
                path.display()
            )))
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::File(fail("cannot read", &e))),
    };
    let target = match meta {
        Some(_) => fs::canonicalize(path).map_err(|e| Error::File(fail("cannot resolve", &e)))?,
        None => path.to_path_buf(),
    };
    let (dir, name) = match (target.parent(), target.file_name()) {
        (Some(d), Some(f)) => (d.to_path_buf(), f.to_string_lossy().into_owned()),
        _ => {
            return Err(Error::File(format!(
                "{} is not a file path",
                target.display()
            )))
        }
    };
    make_dir(&dir).map_err(|e| Error::File(fail("cannot create the folder of", &e)))?;
    let _lock = lock_file(&dir.join(format!(".{name}.stsenv-lock")))
        .map_err(|e| Error::File(fail("cannot lock", &e)))?;
    let old = match fs::read(&target) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            Error::File(format!(
                "{} is not UTF-8 text; save it as UTF-8 first",
                target.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::File(fail("cannot read", &e))),
    };
    let Some(new) = edit(&old)? else {
        return Ok(());
    };
    remove_stale_temps(&dir, &name);
    let current = fs::metadata(&target).ok();
    #[cfg(unix)]
    let (links, own_mode) = {
        use std::os::unix::fs::MetadataExt;
        current
            .as_ref()
            .map_or((1, None), |m| (m.nlink(), Some(m.mode() & 0o7777)))
    };
    #[cfg(not(unix))]
    let (links, own_mode) = (1u64, None::<u32>);
    let written = if links > 1 {
        // A rename would cut this name off from the file's other links.
        (|| {
            let _hold = HoldSignals::new();
            let mut f = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&target)?;
            #[cfg(unix)]
            if let Some(m) = mode {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(fs::Permissions::from_mode(m))?;
            }
            f.write_all(new.as_bytes())?;
            f.sync_all()
        })()
    } else {
        let m = match (mode, own_mode) {
            (Some(m), _) => m,
            (None, Some(own)) => own,
            (None, None) => 0o600,
        };
        write_atomic_mode(&dir, &name, &new, m)
    };
    written.map_err(|e| Error::File(fail("cannot write", &e)))
}

/// An exclusive lock on `path` (created 0600), waiting up to `EDIT_LOCK_WAIT` for another
/// holder.
fn lock_file(path: &Path) -> std::io::Result<File> {
    let file = open_private(path, true)?;
    let deadline = std::time::Instant::now() + EDIT_LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::other(
                    "another program holds its lock; try again",
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
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
