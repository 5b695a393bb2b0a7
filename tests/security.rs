//! Security round 2: each finding of the red-team pass against 0.1.0, as a test that failed
//! then and passes now. Real shells, the fake STS on loopback, real files and processes.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::fake_sts::{FakeSts, Reply};
use common::shells::{self, get, Sh};
use common::*;

const DEMO: &str = "arn:aws:iam::123456789012:role/demo";

/// `[default]` holds long-term keys; `demo` is a role behind them; `mid` is a role between.
fn demo_env(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "# mine\n[default]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile demo]\nrole_arn = {DEMO}\nsource_profile = default\nregion = us-east-1\n\
             [profile top]\nrole_arn = {}\nsource_profile = mid\n\
             [profile mid]\nrole_arn = {}\nsource_profile = default\n",
            role_arn("top"),
            role_arn("mid")
        ),
    );
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

/// Assumes `demo` once and returns its one entry in the AWS CLI's cache.
fn cached_demo(env: &TestEnv) -> std::path::PathBuf {
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = env.home().join(".aws/cli/cache");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1, "one cache entry");
    entries.pop().unwrap().path()
}

fn read(env: &TestEnv, rel: &str) -> String {
    std::fs::read_to_string(env.home().join(rel)).unwrap_or_default()
}

// 1. --write-profile must not destroy long-term keys, nor a profile of the chain.
#[test]
fn write_profile_refuses_long_term_keys_and_the_chain_unless_forced() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let before = read(&env, ".aws/credentials");
    let out = env.stsenv(&["assume", "demo", "--write-profile", "default"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("[default]") && err.contains("long-term keys") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        read(&env, ".aws/credentials"),
        before,
        "the file was changed"
    );
    assert!(sts.requests().is_empty(), "refused before any request");
    // A profile of the chain being assumed, even without keys of its own.
    let out = env.stsenv(&["assume", "top", "--write-profile", "mid"]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("[mid]") && err.contains("chain"),
        "{err}"
    );
    assert_eq!(read(&env, ".aws/credentials"), before);
    // Another name works, and --force does what it says.
    let out = env.stsenv(&["assume", "demo", "--write-profile", "assumed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(read(&env, ".aws/credentials").contains(&format!("aws_access_key_id = {BASE_KEY}")));
    let out = env.stsenv(&["assume", "demo", "--write-profile", "default", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!read(&env, ".aws/credentials").contains(BASE_KEY));
}

// 2. A refresh replays the original arguments and never signs with the session's own keys.
#[test]
fn refresh_replays_every_argument_and_never_signs_with_the_session() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    let args = [
        "demo",
        "--policy",
        policy,
        "--session-name",
        "restricted",
        "--duration",
        "15m",
        "--tag",
        "team=ro",
        "--no-cache",
    ];
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish] {
        let refresh = match sh {
            Sh::Fish => "\"$STSENV\" refresh --shell fish | source; or exit 4".to_string(),
            _ => format!(
                "eval \"$(\"$STSENV\" refresh --shell {})\" || exit 4",
                sh.flag()
            ),
        };
        let script = format!("{}; {refresh}", sh.apply(&args));
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
    }
    let calls = sts.calls("AssumeRole");
    assert_eq!(calls.len(), 6);
    for (i, c) in calls.iter().enumerate() {
        assert_eq!(c.param("Policy"), Some(policy), "call {i}");
        assert_eq!(c.param("RoleSessionName"), Some("restricted"), "call {i}");
        assert_eq!(c.param("DurationSeconds"), Some("900"), "call {i}");
        assert_eq!(c.param("Tags.member.1.Key"), Some("team"), "call {i}");
        assert!(
            c.authorization.contains(&format!("Credential={BASE_KEY}/")),
            "call {i} was signed with {}",
            c.authorization
        );
    }
}

#[test]
fn refresh_of_a_role_arn_keeps_the_profile_and_endpoint_and_takes_odd_names() {
    let sts = FakeSts::numbered(3600);
    let mut env = demo_env(&sts);
    env.vars.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    let mut config = read(&env, ".aws/config");
    config.push_str(&format!(
        "[profile -v]\nrole_arn = {}\nsource_profile = default\n",
        role_arn("dash-v")
    ));
    env.write(".aws/config", &config);
    // A role ARN assumed with AWS_PROFILE as its source: the refresh must use the same
    // profile (AWS_PROFILE is gone by then) and the same --endpoint-url.
    let script = format!(
        "export AWS_PROFILE=default; {}; {}; {}",
        Sh::Bash.apply(&[DEMO, "--endpoint-url", &sts.url]),
        "eval \"$(\"$STSENV\" refresh -s bash)\" || exit 4",
        "echo \"$AWS_ACCESS_KEY_ID\""
    );
    let out = Sh::Bash.run(&env, &script, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = sts.calls("AssumeRole");
    assert_eq!(calls.len(), 2, "the refresh reached the same endpoint");
    assert!(
        calls[1]
            .authorization
            .contains(&format!("Credential={BASE_KEY}/")),
        "{}",
        calls[1].authorization
    );
    // A profile named like a flag.
    let script = format!(
        "{}; eval \"$(\"$STSENV\" refresh -s bash)\" || exit 4; echo \"$STSENV_PROFILE\"",
        Sh::Bash.apply(&["--endpoint-url", &sts.url, "--", "-v"])
    );
    let out = Sh::Bash.run(&env, &script, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "-v");
    assert_eq!(sts.calls("AssumeRole").len(), 4);
    // Keys in the environment were the source: a refresh can't be made from here.
    let mut keyed = TestEnv::with_source_keys();
    keyed.set("AWS_ENDPOINT_URL", &sts.url);
    let script = format!("{}; \"$STSENV\" refresh -s bash", Sh::Bash.apply(&[DEMO]));
    let out = Sh::Bash.run(&keyed, &script, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("keys in the environment"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sts.calls("AssumeRole").len(),
        5,
        "no request signed with the session"
    );
}

#[test]
fn the_hooks_auto_refresh_replays_the_arguments() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish] {
        let init = match sh {
            Sh::Fish => "\"$STSENV\" init fish | source".to_string(),
            _ => format!("eval \"$(\"$STSENV\" init {})\"", sh.program()),
        };
        // The session is made to look nearly expired; the prompt hook then refreshes it.
        let expire = match sh {
            Sh::Fish => {
                "set -gx STSENV_EXPIRES (math (date +%s) + 60); set -g STSENV_AUTO_REFRESH 1"
            }
            _ => "STSENV_EXPIRES=$(( $(date +%s) + 60 )); STSENV_AUTO_REFRESH=1",
        };
        let script = format!(
            "{init}; assume --session-name restricted --tag team=ro --no-cache demo; {expire}; __stsenv_precmd"
        );
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refreshed the credentials of demo"),
            "{sh:?}: {}",
            stderr(&out)
        );
    }
    let calls = sts.calls("AssumeRole");
    assert_eq!(calls.len(), 6);
    for c in &calls {
        assert_eq!(c.param("RoleSessionName"), Some("restricted"));
        assert_eq!(c.param("Tags.member.1.Value"), Some("ro"));
        assert!(c.authorization.contains(&format!("Credential={BASE_KEY}/")));
    }
}

// 3. Concurrent writers keep each other's sections.
#[test]
fn concurrent_write_profile_runs_keep_each_others_sections() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    for round in 0..15 {
        let children: Vec<_> = ["one", "two"]
            .iter()
            .map(|name| {
                env.command(BIN)
                    .args([
                        "assume",
                        "demo",
                        "--no-cache",
                        "--write-profile",
                        &format!("{name}{round}"),
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let text = read(&env, ".aws/credentials");
        assert!(
            text.contains(&format!("[one{round}]")) && text.contains(&format!("[two{round}]")),
            "round {round}: {text}"
        );
    }
}

// 4. The endpoint is part of the key; an entry STS could never have written is not used.
#[test]
fn credentials_from_one_endpoint_are_not_served_for_another() {
    let a = FakeSts::numbered(3600);
    let b = FakeSts::numbered(3600);
    let env = demo_env(&a);
    let first = env.assume_at("demo", &a.url);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = env.assume_at("demo", &b.url);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        b.calls("AssumeRole").len(),
        1,
        "B was asked, not A's entry served"
    );
    let again = env.assume_at("demo", &a.url);
    assert_eq!(stdout(&again), stdout(&first), "A's own entry is still A's");
    assert_eq!(a.calls("AssumeRole").len(), 1);
}

#[test]
fn a_cache_entry_that_outlives_what_sts_grants_is_not_trusted() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let entry = cached_demo(&env);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    doc["Credentials"]["AccessKeyId"] = "PLANTED".into();
    doc["Credentials"]["Expiration"] =
        stsenv::time::rfc3339(stsenv::time::now() + 24 * 3600).into();
    std::fs::write(&entry, doc.to_string()).unwrap();
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success());
    assert!(
        !stdout(&out).contains("PLANTED"),
        "a 24-hour role session was served"
    );
    assert_eq!(sts.calls("AssumeRole").len(), 2);
}

// 5. No core dump, and a failed stderr write is no panic.
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

// 6. A run killed by SIGTERM or SIGHUP still makes eval fail.
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

// 7. An endless body and a huge message are cut off.
#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its peak memory
fn an_endless_body_is_cut_off_and_a_huge_message_is_cut_short() {
    let sts = FakeSts::always(Reply::Endless);
    let env = TestEnv::with_source_keys();
    let child = env
        .command(BIN)
        .args([
            "assume",
            DEMO,
            "--endpoint-url",
            &sts.url,
            "-s",
            "bash",
            "--timeout",
            "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout_pipe = child.stdout;
    let mut stderr_pipe = child.stderr;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid pointers.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let mut err = String::new();
    use std::io::Read;
    stderr_pipe
        .as_mut()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut out = String::new();
    stdout_pipe
        .as_mut()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "false\n", "{err}");
    assert!(
        usage.ru_maxrss < 100 * 1024,
        "peak RSS {} KB",
        usage.ru_maxrss
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let huge = "x".repeat(10 << 20);
    let sts = FakeSts::always(Reply::error(403, "AccessDenied", &huge));
    let out = env.stsenv(&["assume", DEMO, "--endpoint-url", &sts.url, "-s", "bash"]);
    let err = assert_clean_failure(&out, &[]);
    assert!(err.len() < 1000, "{} characters of message", err.len());
}

// 8. A cache folder others can write in, or a file planted in it, is not trusted.
#[test]
fn a_cache_folder_others_can_write_in_is_not_used() {
    let sts = FakeSts::numbered(3600);
    let mut env = demo_env(&sts);
    let shared = env.home().join("shared-cache");
    std::fs::create_dir_all(shared.join("stsenv")).unwrap();
    std::fs::set_permissions(
        shared.join("stsenv"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    env.set("XDG_CACHE_HOME", shared.to_str().unwrap());
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("others can write in") && err.contains("without the cache"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "warned once: {err}");
    assert!(
        std::fs::read_dir(shared.join("stsenv"))
            .unwrap()
            .next()
            .is_none(),
        "nothing written there"
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // Owned by someone else, even if private.
        std::fs::set_permissions(
            shared.join("stsenv"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        std::os::unix::fs::chown(shared.join("stsenv"), Some(65534), Some(65534)).unwrap();
        let out = env.stsenv(&["assume", "demo", "-s", "bash", "--refresh"]);
        assert!(
            stderr(&out).contains("belongs to another user"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn planted_fifos_links_and_held_locks_neither_hang_nor_hurt() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let entry = cached_demo(&env);
    // A FIFO where the entry was: no hang, a new request.
    std::fs::remove_file(&entry).unwrap();
    let c = std::ffi::CString::new(entry.to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let start = Instant::now();
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(5));
    // A link where the entry is: its target is neither read nor chmod'ed.
    let target = env.home().join("victim");
    std::fs::write(&target, "{}").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _ = std::fs::remove_file(&entry);
    std::os::unix::fs::symlink(&target, &entry).unwrap();
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success());
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o644);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
    // A lock another process holds: stderr says what stsenv waits for.
    let lock_dir = env.home().join(".cache/stsenv/locks");
    let lock = std::fs::read_dir(&lock_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let held = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    held.lock().unwrap();
    let child = env
        .command(BIN)
        .args(["assume", "demo", "-s", "bash", "--refresh"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert!(
        stderr(&out).contains("waiting for another stsenv run"),
        "{}",
        stderr(&out)
    );
}

// 9. The credentials file must be a regular file (or missing, or a link to one).
#[test]
fn write_profile_never_replaces_a_device() {
    let sts = FakeSts::numbered(3600);
    let mut env = demo_env(&sts);
    env.write(
        ".aws/config",
        &format!("[profile demo]\nrole_arn = {DEMO}\ncredential_source = Environment\n"),
    );
    env.set("AWS_ACCESS_KEY_ID", BASE_KEY);
    env.set("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
    env.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let out = env.stsenv(&["assume", "demo", "--write-profile", "x"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &meta.file_type()
    ));
    // A symlink to a regular file is followed and kept.
    let real = env.write("real-credentials", "");
    let link = env.home().join("link-credentials");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    env.set("AWS_SHARED_CREDENTIALS_FILE", link.to_str().unwrap());
    let out = env.stsenv(&["assume", "demo", "--write-profile", "x"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("[x]"));
}

// 10. FIFOs and endless files as config, credentials or policy.
#[test]
fn fifos_and_endless_files_are_refused_and_dev_null_is_empty() {
    let env = TestEnv::with_source_keys();
    let fifo = env.home().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let fifo = fifo.to_str().unwrap();
    for (var, value) in [
        ("AWS_CONFIG_FILE", fifo),
        ("AWS_SHARED_CREDENTIALS_FILE", fifo),
        ("AWS_CONFIG_FILE", "/dev/zero"),
    ] {
        let mut e = TestEnv::with_source_keys();
        e.set(var, value);
        let start = Instant::now();
        let out = e.stsenv(&["assume", "p", "-s", "bash"]);
        let err = assert_clean_failure(&out, &[]);
        assert!(
            err.contains(value) && err.contains("not a regular file"),
            "{err}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    let out = env.stsenv(&[
        "assume",
        DEMO,
        "--policy",
        &format!("@{fifo}"),
        "-s",
        "bash",
    ]);
    let err = assert_clean_failure(&out, &[]);
    assert!(err.contains("not a regular file"), "{err}");
    // /dev/null as the credentials file reads as empty, as the AWS CLI reads it.
    let sts = FakeSts::numbered(3600);
    let mut e = TestEnv::with_source_keys();
    e.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let out = e.assume_at(DEMO, &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
}

// 11. Control characters never reach the terminal raw.
#[test]
fn escape_sequences_are_shown_escaped() {
    let env = TestEnv::with_source_keys();
    // A config value, and a flag value, each carrying a terminal escape.
    env.write(".aws/config", "[profile p]\nrole_arn = arn:aws:iam::123456789012:role/\u{1b}]0;pwned\u{7}\nsource_profile = p\n");
    for args in [
        vec!["assume", "p", "-s", "bash"],
        vec!["assume", "bad\u{1b}[31mname", "-s", "bash"],
        vec!["assume", DEMO, "--session-name", "\u{1b}[2Jx", "-s", "bash"],
    ] {
        let out = env.stsenv(&args);
        let err = assert_clean_failure(&out, &[]);
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
        assert!(err.contains("\\u{1b}"), "{err}");
    }
}

// 12. zsh's PROMPT_SUBST must show a % in the profile name, not expand it.
#[test]
fn zsh_prompt_escapes_percent() {
    let env = TestEnv::new();
    let script = "eval \"$(\"$STSENV\" init zsh)\"; STSENV_PROFILE='50%F{red}'; print -rn -- \"$(stsenv_prompt)\"";
    let out = Sh::Zsh.run(&env, script, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "50%%F{red}");
}

// 13. Help through the hooks goes to the terminal, not to eval.
#[test]
fn assume_help_through_the_hooks_is_printed_not_evaluated() {
    let env = TestEnv::new();
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish] {
        let init = match sh {
            Sh::Fish => "\"$STSENV\" init fish | source".to_string(),
            _ => format!("eval \"$(\"$STSENV\" init {})\"", sh.program()),
        };
        let out = sh.run(&env, &format!("{init}; assume --help"), &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("Usage: stsenv assume"),
            "{sh:?}: {}",
            stdout(&out)
        );
        assert!(stderr(&out).is_empty(), "{sh:?}: {}", stderr(&out));
    }
}

// 14. A credential_process or mfa_process that never ends is stopped at --timeout.
#[test]
fn hung_helper_processes_are_killed_at_the_timeout() {
    let sts = FakeSts::numbered(3600);
    let env = TestEnv::new();
    let pid_file = env.home().join("helper.pid");
    let helper = format!("sh -c 'echo $$ > {}; exec sleep 300'", pid_file.display());
    env.write(
        ".aws/config",
        &format!(
            "[profile proc]\ncredential_process = {helper}\n\
             [profile via-proc]\nrole_arn = {DEMO}\nsource_profile = proc\n\
             [profile mfa]\nrole_arn = {DEMO}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nmfa_process = {helper}\n"
        ),
    );
    let mut creds = read(&env, ".aws/config");
    creds.clear();
    env.write(
        ".aws/credentials",
        &format!("[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"),
    );
    for target in ["via-proc", "mfa"] {
        let _ = std::fs::remove_file(&pid_file);
        let start = Instant::now();
        let out = env.stsenv(&[
            "assume",
            target,
            "--endpoint-url",
            &sts.url,
            "--timeout",
            "2",
            "-s",
            "bash",
        ]);
        let err = assert_clean_failure(&out, &[]);
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{target}: {:?}",
            start.elapsed()
        );
        assert!(err.contains("did not finish within 2 s"), "{err}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // Gone, or a zombie waiting for a reaper: either way no longer running.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = state
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']));
        assert!(
            !running,
            "{target}: the helper ({pid}) is still running: {state}"
        );
    }
}

// 16 and 17. Other keys of the section stay; hard links stay linked; stale temp files go.
#[test]
fn write_profile_keeps_other_keys_hard_links_and_cleans_up_after_a_kill() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let file = env.home().join(".aws/credentials");
    let mut text = read(&env, ".aws/credentials");
    text.push_str(
        "\n[assumed]\nregion = eu-central-1\naws_session_token = OLD\nmy_note = keep me\n",
    );
    std::fs::write(&file, &text).unwrap();
    let link = env.home().join("credentials-link");
    std::fs::hard_link(&file, &link).unwrap();
    // What a run killed mid-write left behind.
    let stale = env.home().join(".aws/.credentials.999999.12345.tmp");
    std::fs::write(&stale, "leftover").unwrap();
    let out = env.stsenv(&["assume", "demo", "--write-profile", "assumed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let now = read(&env, ".aws/credentials");
    assert!(
        now.contains("region = eu-central-1") && now.contains("my_note = keep me"),
        "{now}"
    );
    assert!(!now.contains("OLD"), "{now}");
    assert!(now.starts_with("# mine\n[default]"), "{now}");
    assert_eq!(
        std::fs::read_to_string(&link).unwrap(),
        now,
        "the hard link was broken"
    );
    assert!(!stale.exists(), "the stale temp file is still there");
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
}

// 18. A NUL in a cache entry makes it corrupt, not fatal.
#[test]
fn a_cache_entry_with_a_nul_is_replaced() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let entry = cached_demo(&env);
    let text = std::fs::read_to_string(&entry)
        .unwrap()
        .replace("AssumeRole0", "Assume\\u0000Role0");
    std::fs::write(&entry, text).unwrap();
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sts.calls("AssumeRole").len(), 2);
}

// 19. unassume puts back what assume replaced.
#[test]
fn unassume_restores_region_and_profile() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish] {
        let (init, set) = match sh {
            Sh::Fish => (
                "\"$STSENV\" init fish | source".to_string(),
                "set -gx AWS_REGION ap-south-1; set -gx AWS_PROFILE mine; set -e AWS_DEFAULT_REGION",
            ),
            _ => (
                format!("eval \"$(\"$STSENV\" init {})\"", sh.program()),
                "export AWS_REGION=ap-south-1 AWS_PROFILE=mine; unset AWS_DEFAULT_REGION",
            ),
        };
        let script = format!(
            "{init}; {set}; assume demo --region us-west-2; assume demo --region eu-west-3; unassume; {}",
            sh.dump(&shells::vars())
        );
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        let vars = shells::parse(&out.stdout);
        assert_eq!(
            get(&vars, "AWS_REGION").as_deref(),
            Some("ap-south-1"),
            "{sh:?}"
        );
        assert_eq!(get(&vars, "AWS_PROFILE").as_deref(), Some("mine"), "{sh:?}");
        assert_eq!(get(&vars, "AWS_DEFAULT_REGION"), None, "{sh:?}");
        assert_eq!(get(&vars, "AWS_ACCESS_KEY_ID"), None, "{sh:?}");
    }
}

// 20. Messages say what actually failed.
#[test]
fn messages_say_what_actually_failed() {
    let mut env = TestEnv::new();
    env.set("AWS_CONFIG_FILE", "");
    let out = env.stsenv(&["assume", "prod", "-s", "bash"]);
    let err = assert_clean_failure(&out, &[]);
    assert!(err.contains("AWS_CONFIG_FILE is set but empty"), "{err}");
    let env = TestEnv::new();
    std::fs::write(
        env.home().join(".aws/credentials"),
        b"[p]\naws_access_key_id = \xff\xfe\n",
    )
    .unwrap();
    let out = env.stsenv(&["assume", "p", "-s", "bash"]);
    let err = assert_clean_failure(&out, &[]);
    assert!(
        err.contains(".aws/credentials") && err.contains("not UTF-8"),
        "{err}"
    );
    // A credentials file in a folder stsenv can't write to.
    let sts = FakeSts::numbered(3600);
    let mut env = demo_env(&sts);
    env.write(
        ".aws/config",
        &format!("[default]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n[profile demo]\nrole_arn = {DEMO}\nsource_profile = default\n"),
    );
    let ro = env.home().join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    env.set(
        "AWS_SHARED_CREDENTIALS_FILE",
        ro.join("sub/credentials").to_str().unwrap(),
    );
    std::fs::write(ro.join("sub"), "a file, not a folder").unwrap();
    let out = env.stsenv(&["assume", "demo", "--write-profile", "x"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(!err.contains("cannot read the AWS config"), "{err}");
    assert!(err.contains("cannot"), "{err}");
}

// 21. bash and zsh hooks: a leading zero is no octal, and a failed statement fails both.
#[test]
fn hooks_survive_odd_expiries_and_fail_alike_on_a_readonly_variable() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    for sh in [Sh::Bash, Sh::Zsh] {
        let script = format!(
            "set -e; eval \"$(\"$STSENV\" init {})\"; STSENV_PROFILE=x STSENV_EXPIRES=09; __stsenv_precmd; stsenv_prompt; echo; echo ALIVE",
            sh.program()
        );
        let out = sh.run(&env, &script, &[]);
        assert!(stdout(&out).contains("ALIVE"), "{sh:?}: {}", stderr(&out));
        let script = format!(
            "eval \"$(\"$STSENV\" init {})\"; readonly AWS_PROFILE=pinned; assume demo 2>/dev/null; echo \"rc=$?\"",
            sh.program()
        );
        let out = sh.run(&env, &script, &[]);
        assert!(
            stdout(&out).contains("rc=1"),
            "{sh:?}: {} {}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn a_symlinked_cache_folder_of_ones_own_is_fine() {
    let sts = FakeSts::numbered(3600);
    let env = demo_env(&sts);
    let elsewhere = env.home().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(env.home().join(".aws/cli")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.home().join(".aws/cli/cache")).unwrap();
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert!(Path::new(&elsewhere).read_dir().unwrap().next().is_some());
}
