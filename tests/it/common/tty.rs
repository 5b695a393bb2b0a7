//! A real pseudo-terminal for prompts: tmux runs a command in a detached session, the test
//! reads the screen and types, while the command's stdout and stderr go to files.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::TestEnv;

pub struct Tmux {
    socket: PathBuf,
    dir: PathBuf,
}

impl Tmux {
    /// Runs `args` (program first) in a tmux pane with `env`'s environment; stdout goes to
    /// `out`, stderr to `err`, the exit code to `rc` in the test's HOME.
    pub fn run(env: &TestEnv, args: &[&str]) -> Tmux {
        // What an earlier run in this HOME left must not pass for this one's.
        for old in ["out", "err", "rc", "rc.tmp"] {
            let _ = std::fs::remove_file(env.home().join(old));
        }
        let file = |n: &str| quote(&env.home().join(n).display().to_string());
        // A trap (not an ignore, which the child would inherit) keeps this script alive
        // through a Ctrl-C aimed at the command, so it can record the exit code.
        let script = format!(
            "trap true INT\n{} >{} 2>{}; echo $? >{}\nmv {} {}\n",
            command_line(env, args),
            file("out"),
            file("err"),
            file("rc.tmp"),
            file("rc.tmp"),
            file("rc"),
        );
        Tmux::launch(env, "tty-run.sh", &script)
    }

    /// An interactive program (a shell) in a tmux pane, with `env`'s environment; the test
    /// reads its screen and types into it.
    pub fn interactive(env: &TestEnv, args: &[&str]) -> Tmux {
        let script = format!("exec {}\n", command_line(env, args));
        Tmux::launch(env, "tty-shell.sh", &script)
    }

    /// Starts `script` (saved as `name` in HOME) in a detached 200x50 tmux session.
    fn launch(env: &TestEnv, name: &str, script: &str) -> Tmux {
        super::require("tmux", "apt-get install tmux");
        let dir = env.home().to_path_buf();
        let script_path = env.write(name, script);
        let t = Tmux {
            socket: dir.join("tmux.sock"),
            dir,
        };
        // A server of an earlier session on this socket may be on its way out (its command
        // ended): then the new session is refused, and asked for again once it is gone.
        for attempt in 1.. {
            let out = t
                .tmux()
                .args(["new-session", "-d", "-x", "200", "-y", "50", "sh"])
                .arg(&script_path)
                .output()
                .expect("start tmux");
            if out.status.success() {
                break;
            }
            let why = String::from_utf8_lossy(&out.stderr);
            assert!(
                attempt < 5 && why.contains("server exited unexpectedly"),
                "tmux new-session failed: {why}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).env_remove("TMUX");
        c
    }

    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text` `times` times.
    pub fn wait_for(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} never appeared; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn type_line(&self, line: &str) {
        let ok = self
            .tmux()
            .args(["send-keys", "-l", line])
            .status()
            .unwrap()
            .success()
            && self
                .tmux()
                .args(["send-keys", "Enter"])
                .status()
                .unwrap()
                .success();
        assert!(ok, "tmux send-keys failed");
    }

    /// Types `text` as it is, without Enter.
    pub fn send_keys_literal(&self, text: &str) {
        assert!(self
            .tmux()
            .args(["send-keys", "-l", text])
            .status()
            .unwrap()
            .success());
    }

    pub fn send_key(&self, key: &str) {
        assert!(self
            .tmux()
            .args(["send-keys", key])
            .status()
            .unwrap()
            .success());
    }

    /// Waits for the command to end; returns (exit code, stdout, stderr).
    pub fn finish(&self) -> (i32, String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let rc = self.dir.join("rc");
        while !rc.exists() {
            assert!(
                Instant::now() < deadline,
                "command never ended; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let read = |n: &str| std::fs::read_to_string(self.dir.join(n)).unwrap_or_default();
        let err = read("err");
        super::assert_no_secrets(&err);
        (read("rc").trim().parse().unwrap(), read("out"), err)
    }
}

impl Drop for Tmux {
    /// Kills the server and waits until nothing answers on its socket, so that the next
    /// session on the same socket never meets a server on its way out.
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let alive = self
                .tmux()
                .arg("list-sessions")
                .output()
                .is_ok_and(|o| o.status.success());
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `env -i VAR=… program args…`: exactly `env`'s environment, nothing inherited.
fn command_line(env: &TestEnv, args: &[&str]) -> String {
    let vars: Vec<String> = env
        .vars
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    let cmd: Vec<String> = args.iter().map(|a| quote(a)).collect();
    format!("env -i {} {}", vars.join(" "), cmd.join(" "))
}
