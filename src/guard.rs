//! Process-wide protections set up before anything else: no core dumps (a crash must not
//! write secrets to disk), and the shell's failure statement on stdout when the run is killed
//! or panics, so that `eval "$(stsenv …)"` fails instead of succeeding with nothing. Knows
//! nothing of what the run does.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// The failure statement for stdout, when one is owed (see `owe_failure_statement`).
static STATEMENT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static STATEMENT_LEN: AtomicUsize = AtomicUsize::new(0);
/// Set once stdout has been written: a statement after the output would undo it.
static STDOUT_DONE: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
static CORE_LIMIT: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

/// Call first thing in `main`.
pub fn harden() {
    #[cfg(unix)]
    // SAFETY: plain system calls on values owned here; the handlers installed only call
    // async-signal-safe functions (write, signal, raise).
    unsafe {
        let mut old: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut old) == 0 {
            let _ = CORE_LIMIT.set(old);
        }
        // The soft limit only, so that `exec` can give the command the user's own back.
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: old.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    std::panic::set_hook(Box::new(|info| {
        crate::picker::restore_if_active();
        crate::tty::restore_if_raw();
        // The payload is left out: it could hold anything, secrets included.
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        crate::error::say(&format!("internal error{at}; please report it"));
        write_statement();
    }));
}

/// From now on, a kill or a panic leaves `statement` (with a newline) on stdout, unless
/// stdout is a terminal (where nobody evals it).
pub fn owe_failure_statement(statement: Option<&'static str>) {
    use std::io::IsTerminal;
    let text: Option<&'static str> = match statement {
        Some(s) if !std::io::stdout().is_terminal() => Some(match s {
            "false" => "false\n",
            _ => Box::leak(format!("{s}\n").into_boxed_str()),
        }),
        _ => None,
    };
    let (ptr, len) = text.map_or((std::ptr::null_mut(), 0), |t| {
        (t.as_ptr() as *mut u8, t.len())
    });
    STATEMENT_LEN.store(len, Ordering::SeqCst);
    STATEMENT.store(ptr, Ordering::SeqCst);
}

/// Stdout now holds the command's output; nothing more may be added to it.
pub fn stdout_written() {
    STDOUT_DONE.store(true, Ordering::SeqCst);
}

fn write_statement() {
    if STDOUT_DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let ptr = STATEMENT.load(Ordering::SeqCst);
    let len = STATEMENT_LEN.load(Ordering::SeqCst);
    if ptr.is_null() || len == 0 {
        return;
    }
    #[cfg(unix)]
    // SAFETY: ptr/len describe a &'static str stored by owe_failure_statement.
    unsafe {
        libc::write(1, ptr as *const libc::c_void, len);
    }
}

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    write_statement();
    // SAFETY: back to the default action, then the same signal again: the process ends as
    // killed by it, which shells report as 128+N.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// The core-dump limit the user had, for a command stsenv runs in its place.
pub fn restore_core_limit() {
    #[cfg(unix)]
    if let Some(old) = CORE_LIMIT.get() {
        // SAFETY: setrlimit with a value getrlimit returned.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, old);
        }
    }
}
