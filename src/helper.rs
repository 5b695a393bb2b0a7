//! The user's helper commands (`credential_process`, `mfa_process`): run through the shell as
//! the AWS CLI runs them, bounded by the timeout, and killed with everything they started when
//! it passes. Knows nothing of what the helper prints.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The user's own command (`exec`): `argv` with the environment changes applied, and the
/// core-dump limit stsenv took away for itself given back.
pub fn user_command(argv: &[String], env: &crate::session::EnvChange) -> Command {
    let (program, rest) = argv.split_first().expect("a command to run");
    let mut cmd = Command::new(program);
    cmd.args(rest);
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit only, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                crate::guard::restore_core_limit();
                Ok(())
            });
        }
    }
    cmd
}

/// How a helper failed, in words for a message (never its output, which may hold secrets).
#[derive(Debug)]
pub enum Failure {
    Start(std::io::Error),
    Status(std::process::ExitStatus),
    TimedOut(Duration),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Start(e) => write!(f, "could not start it: {e}"),
            Failure::Status(s) => match s.code() {
                Some(code) => write!(f, "it exited with status {code}"),
                None => write!(f, "it was killed ({s})"),
            },
            Failure::TimedOut(t) => write!(
                f,
                "it did not finish within {} s and was stopped (raise --timeout if it needs longer)",
                t.as_secs()
            ),
        }
    }
}

/// Runs `command` with the shell; its stdin and stderr are the user's (it may prompt), its
/// stdout is returned.
pub fn run(command: &str, timeout: Duration) -> Result<Vec<u8>, Failure> {
    let mut child = shell_command(command)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(Failure::Start)?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    // Read on the side, so a helper that prints a lot can't block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(1 << 20).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                kill_tree(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::TimedOut(timeout));
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(Failure::Status(status))
    }
}

#[cfg(unix)]
fn shell_command(cmd: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(cmd);
    c
}

#[cfg(not(unix))]
fn shell_command(cmd: &str) -> Command {
    let mut c = Command::new("cmd");
    c.arg("/C").arg(cmd);
    c
}

/// Kills `pid` and every process it started (on Linux, found through /proc). All are stopped
/// first, so that no shell among them lives to report its child's death on our stderr.
fn kill_tree(pid: u32) {
    let mut all = vec![pid];
    #[cfg(target_os = "linux")]
    {
        let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let child: u32 = e.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                // The parent is the second field after the `(name)`, which may hold spaces.
                let after = &stat[stat.rfind(')')? + 1..];
                let ppid: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
                Some((child, ppid))
            })
            .collect();
        let mut i = 0;
        while i < all.len() {
            let p = all[i];
            all.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
    }
    #[cfg(unix)]
    for sig in [libc::SIGSTOP, libc::SIGKILL] {
        for p in &all {
            // SAFETY: sending a signal to processes this run started.
            unsafe {
                libc::kill(*p as libc::pid_t, sig);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = all;
}
