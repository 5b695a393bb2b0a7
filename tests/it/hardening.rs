//! Process hardening: no core dumps, a full stderr is no crash, and a run killed by a signal
//! still leaves the shell's failure statement on stdout.

use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use crate::common::demo::ROLE as DEMO;
use crate::common::fake_sts::FakeSts;
use crate::common::fake_sts::Reply;
use crate::common::*;

/// Security round 2, finding 5: No core dump, and a failed stderr write is no panic.
#[test]
fn no_core_dumps_and_a_full_stderr_is_no_crash() {
    let sts = FakeSts::always(Reply::Hang);
    let env = TestEnv::with_source_keys();
    let mut child = env
        .command(BIN)
        .args(["assume", DEMO, "--endpoint-url", &sts.url, "-s", "bash"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sts.requests().is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!status.is_empty());
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = env
        .command(BIN)
        .args(["assume", "no-such-profile", "-s", "bash"])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no panic, no abort");
    assert_eq!(stdout(&out), "false\n");
}

/// Security round 2, finding 6: A run killed by SIGTERM or SIGHUP still makes eval fail.
#[test]
fn a_killed_run_leaves_false_on_stdout() {
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        let sts = FakeSts::always(Reply::Hang);
        let env = TestEnv::with_source_keys();
        let child = env
            .command(BIN)
            .args(["assume", DEMO, "--endpoint-url", &sts.url, "-s", "bash"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sts.requests().is_empty() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.signal(), Some(sig));
        assert_eq!(stdout(&out), "false\n", "signal {sig}");
    }
}
