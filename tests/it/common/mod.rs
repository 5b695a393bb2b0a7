//! Test harness shared by the integration tests: an isolated environment per test, a real
//! moto STS on loopback, a fake STS of our own for byte-exact and fault cases, and helpers
//! that run real shells.
#![allow(dead_code)]

pub mod chromium;
pub mod demo;
pub mod fake_http;
pub mod fake_sso;
pub mod fake_sts;
pub mod keyring;
pub mod moto;
pub mod moto_iam;
pub mod netfix;
pub mod pwsh;
pub mod shells;
pub mod tty;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_stsenv");
pub const ACCOUNT: &str = "123456789012";
pub const BASE_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const BASE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// A HOME of its own with ~/.aws/config and ~/.aws/credentials, and a clean environment:
/// nothing inherited reaches stsenv, the shells or the aws CLI but PATH and what the test sets.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        let mut env = TestEnv {
            dir,
            vars: Vec::new(),
        };
        env.set("HOME", &home);
        env.set("PATH", &std::env::var("PATH").unwrap_or_default());
        env.set("LANG", "C.UTF-8");
        env.set("USER", "tester");
        env.set("AWS_CONFIG_FILE", &format!("{home}/.aws/config"));
        env.set(
            "AWS_SHARED_CREDENTIALS_FILE",
            &format!("{home}/.aws/credentials"),
        );
        // Never reach for the instance metadata service from a test.
        env.set("AWS_EC2_METADATA_DISABLED", "true");
        env.write(".aws/config", "");
        env.write(".aws/credentials", "");
        env
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.to_string(), v.to_string()));
        self
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.home().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A script the tests run, written by a child process (`sh`), never by this one: a file
    /// this process held open for writing would be inherited by the children the other tests
    /// fork meanwhile, and running it could then fail with ETXTBSY.
    pub fn write_executable(&self, rel: &str, text: &str) -> PathBuf {
        use std::io::Write;
        let p = self.home().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut child = Command::new("sh")
            .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
            .arg(&p)
            .stdin(Stdio::piped())
            .spawn()
            .expect("sh");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "writing {}", p.display());
        p
    }

    /// Source credentials in the environment, as for the default chain, and a region.
    pub fn with_source_keys() -> TestEnv {
        let mut env = TestEnv::new();
        env.set("AWS_ACCESS_KEY_ID", BASE_KEY);
        env.set("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
        env.set("AWS_REGION", "us-east-1");
        env
    }

    /// Static keys for a `[base]` profile in the credentials file, plus `config` as given.
    pub fn with_base_profile(&self, config: &str) {
        self.write(
            ".aws/credentials",
            &format!(
                "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
            ),
        );
        self.write(".aws/config", config);
    }

    /// A command with exactly this environment.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear();
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c.current_dir(self.home());
        c.stdin(Stdio::null());
        detach_from_terminal(&mut c);
        c
    }

    /// Runs stsenv; whatever it wrote on stderr is checked for every secret the suite knows.
    pub fn stsenv(&self, args: &[&str]) -> Output {
        let out = self.command(BIN).args(args).output().expect("run stsenv");
        assert_no_secrets(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// `stsenv assume TARGET --endpoint-url URL -s bash`: the most common run in the tests.
    pub fn assume_at(&self, target: &str, url: &str) -> Output {
        self.stsenv(&["assume", target, "--endpoint-url", url, "-s", "bash"])
    }

    /// `aws sts get-caller-identity` with the given extra environment; returns the ARN.
    pub fn caller_arn(&self, extra: &[(&str, String)]) -> String {
        let mut c = self.command("aws");
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c
            .args([
                "sts",
                "get-caller-identity",
                "--query",
                "Arn",
                "--output",
                "text",
            ])
            .output()
            .unwrap_or_else(|e| {
                panic!("aws CLI missing ({e}): run scripts/test.sh or pip install awscli")
            });
        assert!(
            out.status.success(),
            "aws failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every secret the tests hand to stsenv (the source keys, and each secret and token the fake
/// STS gives out): none may ever appear on stsenv's stderr, in any test.
static SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Short values ("SECRET") are left out: they match ordinary words in messages.
pub fn register_secret(s: &str) {
    if s.len() >= 8 {
        SECRETS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(s.to_string());
    }
}

pub fn assert_no_secrets(stderr: &str) {
    assert!(
        !stderr.contains(BASE_SECRET),
        "stderr leaks the source secret: {stderr}"
    );
    let known = SECRETS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for s in &known {
        assert!(
            !stderr.contains(s.as_str()),
            "stderr leaks a secret ({s:?}): {stderr}"
        );
    }
}

/// After any run, nothing half-written: no temp file anywhere under HOME, and every cache
/// entry is whole JSON.
pub fn assert_no_partial_files(env: &TestEnv) {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, found);
            } else {
                found.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(env.home(), &mut files);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(!name.ends_with(".tmp"), "temp file left: {}", f.display());
        if f.to_string_lossy().contains("/cache/") && name.ends_with(".json") {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "partial {}",
                f.display()
            );
        }
    }
}

/// The failure contract: non-zero exit, stdout only `false`, exactly one line on stderr that
/// carries none of `secrets`.
pub fn assert_clean_failure(o: &Output, secrets: &[&str]) -> String {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert_eq!(
        stdout(o),
        "false\n",
        "stdout must hold only `false`; stderr: {err}"
    );
    assert_eq!(err.lines().count(), 1, "stderr must be one line: {err:?}");
    assert!(err.starts_with("stsenv: "), "{err}");
    assert_no_secrets(&err);
    for s in secrets {
        assert!(!err.contains(s), "stderr leaks a secret: {err}");
    }
    err
}

/// Fails with a message naming what to install, instead of skipping.
pub fn require(program: &str, install: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: {install} (scripts/test.sh installs it)"
    );
}

/// Runs the child in a new session, without a controlling terminal, so that no test can ever
/// stop at a prompt on the terminal of whoever runs `cargo test`.
pub fn detach_from_terminal(c: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}
