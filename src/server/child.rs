//! The command as stsenv's child: started with its environment, sent the signals stsenv gets,
//! waited for. Knows nothing of credentials or of the server.

use crate::error::Error;
use crate::session::EnvChange;

/// Runs `argv` with `env` applied to stsenv's own environment and returns its exit status,
/// or 128+N when signal N killed it.
pub fn run(argv: &[String], env: &EnvChange) -> Result<i32, Error> {
    let program = &argv[0];
    let mut cmd = crate::helper::user_command(argv, env);
    let cannot = |source: std::io::Error| Error::Exec {
        program: program.clone(),
        source,
    };
    #[cfg(unix)]
    {
        signals::forward_to_child();
        let child = cmd.spawn().map_err(cannot)?;
        signals::child_started(child);
        Ok(signals::wait())
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(cannot)?;
        Ok(status.code().unwrap_or(1))
    }
}

#[cfg(unix)]
mod signals {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Child;
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::Mutex;

    const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

    /// The child's pid while it runs (0 before and after), for the signal handler.
    static PID: AtomicI32 = AtomicI32::new(0);
    /// A signal that came before the child was there to get it.
    static PENDING: AtomicI32 = AtomicI32::new(0);
    static CHILD: Mutex<Option<Child>> = Mutex::new(None);

    /// From now on a signal that would end stsenv goes to the child instead (or, before it
    /// runs, waits for it), so stsenv outlives the command and reports how it ended. The
    /// handlers are reset in the child by exec.
    pub fn forward_to_child() {
        // SAFETY: sigaction with a handler that only loads and stores atomics and calls kill,
        // all async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            for sig in FORWARDED {
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    }

    pub fn child_started(child: Child) {
        let pid = child.id() as libc::pid_t;
        *CHILD.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        PID.store(pid, Ordering::SeqCst);
        let early = PENDING.swap(0, Ordering::SeqCst);
        if early != 0 {
            // SAFETY: kill on the pid of a child not yet reaped.
            unsafe {
                libc::kill(pid, early);
            }
        }
        // A stsenv in the background (the command's shell took the terminal) that prompts
        // for an MFA code gets an error instead of being stopped, server and all. Only now:
        // exec keeps ignored signals, and the child must not inherit these.
        // SAFETY: plain signal dispositions of this process.
        unsafe {
            libc::signal(libc::SIGTTIN, libc::SIG_IGN);
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        }
    }

    /// Waits for the child to end and returns its status the shell's way.
    pub fn wait() -> i32 {
        let pid = PID.load(Ordering::SeqCst);
        // Wait without reaping, then stop forwarding, then reap: a signal can never reach
        // another process that got the pid after the child's.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        loop {
            // SAFETY: waitid on our own child, into a zeroed siginfo_t.
            let r = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        PID.store(0, Ordering::SeqCst);
        let child = CHILD.lock().unwrap_or_else(|e| e.into_inner()).take();
        let waited = child.map(|mut c| c.wait());
        PID.store(0, Ordering::SeqCst);
        let Some(Ok(status)) = waited else {
            return 1;
        };
        match (status.code(), status.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig,
            (None, None) => 1,
        }
    }

    extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // The terminal sends Ctrl-C (and Ctrl-\, and a hangup) to its whole foreground
        // group, the child included: sending it again would make it two, which some
        // programs (terraform) read as "stop now, without cleaning up".
        #[cfg(any(target_os = "linux", target_os = "android"))]
        // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
        if !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL {
            return;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = info;
        let pid = PID.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(pid, sig);
            }
            return;
        }
        // Not started yet: `child_started` sends it. If it started meanwhile and already
        // looked, send it from here; the swap makes sure only one of the two does.
        PENDING.store(sig, Ordering::SeqCst);
        let pid = PID.load(Ordering::SeqCst);
        if pid > 0 && PENDING.swap(0, Ordering::SeqCst) == sig {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}
