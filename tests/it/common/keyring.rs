//! A real Secret Service per test: a private D-Bus session bus (dbus-run-session) with its
//! own gnome-keyring-daemon, the keyrings in the test's HOME, and a throw-away "login"
//! collection the session creates and unlocks with a password of its own. No keyring of the
//! user's is ever touched. The session lives as long as a pipe from this process: when the
//! value drops (or the test binary dies), the inner shell's `read` returns and
//! dbus-run-session ends the bus, the daemon with it.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Stdio};
use std::time::{Duration, Instant};

use super::TestEnv;

pub const PASSWORD: &str = "throwaway-test-keyring-password";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The "login" collection, created with PASSWORD and unlocked: the default collection.
    Unlocked,
    /// The same, locked again before the test runs (without a display, no unlock prompt can
    /// be shown, so it stays locked).
    Locked,
    /// A bus on which nothing provides the Secret Service, and none can be activated.
    NoSecretService,
}

pub struct KeyringSession {
    /// DBUS_SESSION_BUS_ADDRESS of the session.
    pub bus: String,
    keepalive: Option<(Child, ChildStdin)>,
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.keepalive.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

const INNER: &str = r#"
set -eu
if [ "$KR_MODE" != none ]; then
  printf %s "$KR_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1
  if [ "$KR_MODE" = locked ]; then
    timeout 10 dbus-send --session --print-reply=literal --dest=org.freedesktop.secrets \
      /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock \
      array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
  fi
fi
echo "BUS=$DBUS_SESSION_BUS_ADDRESS"
read _ || true
"#;

const TOOLS: [(&str, &str); 4] = [
    ("dbus-run-session", "apt-get install dbus-bin"),
    ("dbus-send", "apt-get install dbus-bin"),
    ("gnome-keyring-daemon", "apt-get install gnome-keyring"),
    ("secret-tool", "apt-get install libsecret-tools"),
];

impl KeyringSession {
    /// Starts a session for `env`: the XDG folders move into its HOME, and its commands get
    /// the session's bus.
    pub fn start(env: &mut TestEnv, mode: Mode) -> KeyringSession {
        for (tool, install) in TOOLS {
            super::require(tool, install);
        }
        let home = env.home().to_path_buf();
        let dir = |d: &str| home.join(d).display().to_string();
        for d in [".local/share", ".config", ".cache", "run"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        env.set("XDG_DATA_HOME", &dir(".local/share"));
        env.set("XDG_CONFIG_HOME", &dir(".config"));
        env.set("XDG_CACHE_HOME", &dir(".cache"));
        env.set("XDG_RUNTIME_DIR", &dir("run"));
        // Debian's session config lists the service folders where gnome-keyring can be
        // activated from; a session without a Secret Service must not have them.
        let servicedirs = match mode {
            Mode::NoSecretService => "",
            _ => "<standard_session_servicedirs/>",
        };
        let conf = env.write(
            "bus.conf",
            &format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><keep_umask/><listen>unix:dir={}</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
{servicedirs}</busconfig>
"#,
                dir("run")
            ),
        );
        let mode_word = match mode {
            Mode::Unlocked => "unlocked",
            Mode::Locked => "locked",
            Mode::NoSecretService => "none",
        };
        let mut child = env
            .command("dbus-run-session")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--", "sh", "-c", INNER])
            .env("KR_MODE", mode_word)
            .env("KR_PASSWORD", PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-run-session");
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut line = String::new();
        let bus = loop {
            line.clear();
            let n = out.read_line(&mut line).unwrap_or(0);
            assert!(
                n > 0 && Instant::now() < deadline,
                "the private keyring session did not start (dbus-run-session, gnome-keyring-daemon)"
            );
            if let Some(b) = line.trim().strip_prefix("BUS=") {
                break b.to_string();
            }
        };
        env.set("DBUS_SESSION_BUS_ADDRESS", &bus);
        KeyringSession {
            bus,
            keepalive: Some((child, stdin)),
        }
    }
}

/// Locks the login collection of the session whose environment is `vars` (a `TestEnv`'s),
/// through the Secret Service API (Debian 12's `secret-tool lock` can hang or crash).
pub fn lock(vars: &[(String, String)]) {
    let out = std::process::Command::new("timeout")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args([
            "10",
            "dbus-send",
            "--session",
            "--print-reply=literal",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "locking the keyring: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Unlocks the login collection again the way a login does: the Secret Service API would
/// need a prompt, and `--unlock` doesn't unlock a running daemon's collection, so the daemon
/// is stopped and started again with the password (its keyring file is on disk).
pub fn unlock(env: &TestEnv) {
    let dbus = |args: &[&str]| -> String {
        let out = env
            .command("timeout")
            .args(["10", "dbus-send", "--session", "--print-reply=literal"])
            .args(["--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let pid: i32 = dbus(&[
        "org.freedesktop.DBus.GetConnectionUnixProcessID",
        "string:org.freedesktop.secrets",
    ])
    .split_whitespace()
    .last()
    .and_then(|w| w.parse().ok())
    .expect("the keyring daemon's pid");
    // SAFETY: a signal to the daemon this test's session started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while dbus(&[
        "org.freedesktop.DBus.NameHasOwner",
        "string:org.freedesktop.secrets",
    ])
    .contains("true")
    {
        assert!(Instant::now() < deadline, "the keyring daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let script = "printf %s \"$KR_PASSWORD\" | gnome-keyring-daemon --unlock --components=secrets >/dev/null && gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1";
    let ok = env
        .command("sh")
        .args(["-c", script])
        .env("KR_PASSWORD", PASSWORD)
        .status()
        .unwrap()
        .success();
    assert!(ok, "restarting the keyring daemon");
}

/// What `secret-tool lookup service stsenv username PROFILE` prints, as a user would look:
/// None when it finds nothing.
pub fn lookup(env: &TestEnv, profile: &str) -> Option<String> {
    let out = env
        .command("timeout")
        .args([
            "10",
            "secret-tool",
            "lookup",
            "service",
            "stsenv",
            "username",
            profile,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The access key id and secret the keyring holds for `profile`, read with secret-tool.
pub fn stored(env: &TestEnv, profile: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&lookup(env, profile)?).ok()?;
    Some((
        v["AccessKeyId"].as_str()?.to_string(),
        v["SecretAccessKey"].as_str()?.to_string(),
    ))
}

/// Stores `secret` for `profile` with secret-tool, as another program could.
pub fn store_raw(env: &TestEnv, profile: &str, secret: &str) {
    use std::io::Write;
    let mut child = env
        .command("timeout")
        .args([
            "10",
            "secret-tool",
            "store",
            "--label=by hand",
            "service",
            "stsenv",
            "username",
            profile,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "secret-tool store");
}

/// `secret-tool search --all service stsenv`: labels and attributes (and secrets) of every
/// item of stsenv's.
pub fn search(env: &TestEnv) -> String {
    let out = env
        .command("timeout")
        .args(["10", "secret-tool", "search", "--all", "service", "stsenv"])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails unless no file under HOME holds `secret` in plain text (the keyring's own file is
/// encrypted, so it is no exception).
pub fn assert_in_no_file(env: &TestEnv, secret: &str) {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&p, found),
                Ok(t) if t.is_file() => found.push(p),
                _ => {}
            }
        }
    }
    let mut files = Vec::new();
    walk(env.home(), &mut files);
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret in plain text",
            f.display()
        );
    }
}

/// An X display nobody looks at (Xvfb, on a display number it picks): where an unlock
/// prompt can be shown, and then waits for an answer that never comes.
pub struct Display {
    pub name: String,
    child: Child,
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Display {
    pub fn start() -> Display {
        super::require("Xvfb", "apt-get install xvfb");
        let mut child = std::process::Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let number: u32 = line.trim().parse().expect("Xvfb says its display number");
        Display {
            name: format!(":{number}"),
            child,
        }
    }

    /// From now on, prompts that `env`'s session starts (gnome-keyring's unlock prompt, which
    /// D-Bus activates with the bus's environment) open on this display.
    pub fn for_prompts_of(&self, env: &TestEnv) {
        let ok = env
            .command("dbus-update-activation-environment")
            .arg(format!("DISPLAY={}", self.name))
            .status()
            .unwrap()
            .success();
        assert!(ok, "dbus-update-activation-environment");
    }
}
