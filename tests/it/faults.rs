//! The fault matrix: every way the STS, the network, the config or the machine can fail.
//! Each row checks the failure contract (non-zero exit, only `false` on stdout, one line on
//! stderr that says what to do, no secret on stderr: the harness checks every run for every
//! secret it knows), that nothing is left half-written, and that it ends in bounded time.

use std::time::{Duration, Instant};

use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::shells::{self, get};
use crate::common::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/faulty";

/// Runs an assume against `url` and checks the failure contract; returns stderr and time.
fn fails_with(env: &TestEnv, url: &str, extra: &[&str], expect: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let mut args = vec!["assume", ROLE, "--endpoint-url", url, "-s", "bash"];
    args.extend_from_slice(extra);
    let out = env.stsenv(&args);
    let took = started.elapsed();
    let err = assert_clean_failure(&out, &[BASE_SECRET, BASE_KEY]);
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
    assert_no_partial_files(env);
    (err, took)
}

fn sts_fails(reply: Reply, expect: &[&str]) -> FakeSts {
    let sts = FakeSts::always(reply);
    fails_with(&TestEnv::with_source_keys(), &sts.url, &[], expect);
    sts
}

#[test]
fn connection_refused_names_the_endpoint_within_5_s() {
    let url = format!("http://127.0.0.1:{}", crate::common::moto::free_port());
    let (_, took) = fails_with(
        &TestEnv::with_source_keys(),
        &url,
        &[],
        &[&format!("could not reach STS at {url}"), "refused"],
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn an_unresolvable_name_names_the_endpoint_within_5_s() {
    // A label over 63 characters: the resolver refuses it without sending any query, so the
    // test stays on this machine.
    let url = &format!("https://{}.invalid", "a".repeat(70));
    let (_, took) = fails_with(
        &TestEnv::with_source_keys(),
        url,
        &[],
        &[&format!("could not reach STS at {url}")],
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_silent_endpoint_gives_up_at_the_timeout() {
    let sts = FakeSts::always(Reply::Hang);
    let env = TestEnv::with_source_keys();
    let (_, took) = fails_with(
        &env,
        &sts.url,
        &["--timeout", "2"],
        &["no answer from STS", "within 2 s", "--timeout"],
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "took {took:?}"
    );
    // Without --timeout, the default applies: 15 s (a unit test pins it), here shortened
    // to 3 s by the test hook, so that the default path is the one seen to give up.
    let mut env = env;
    env.set("STSENV_DEFAULT_TIMEOUT", "3");
    let (_, took) = fails_with(&env, &sts.url, &[], &["within 3 s"]);
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(9),
        "the default, took {took:?}"
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    for status in [500, 503] {
        let sts = sts_fails(
            Reply::Raw {
                status,
                content_type: "text/plain".into(),
                body: "unavailable".into(),
            },
            &[&format!("HTTP {status}"), "try again"],
        );
        assert_eq!(
            sts.requests().len(),
            3,
            "the SDK's standard retries for HTTP {status}"
        );
    }
}

#[test]
fn throttling_is_retried_until_the_server_recovers() {
    let sts = FakeSts::start(|_, n| {
        if n < 2 {
            Reply::error(400, "Throttling", "Rate exceeded")
        } else {
            Reply::creds("ASIARECOVERED", "recovered-secret", "recovered-token")
        }
    });
    let out = TestEnv::with_source_keys().assume_at(ROLE, &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIARECOVERED"));
    assert_eq!(sts.requests().len(), 3);
}

#[test]
fn garbage_truncated_and_wrongly_typed_bodies_are_clean_errors() {
    sts_fails(
        Reply::Raw {
            status: 200,
            content_type: "text/html".into(),
            body: "<html><body>login".into(),
        },
        &["STS at"],
    );
    sts_fails(
        Reply::Raw {
            status: 200,
            content_type: "application/json".into(),
            body: "{\"Credentials\":{}}".into(),
        },
        &["STS at"],
    );
    sts_fails(
        Reply::Truncated {
            body: "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA".into(),
            claimed: 4000,
        },
        &["STS at"],
    );
}

#[test]
fn sts_error_codes_become_sentences_that_say_what_to_check() {
    let env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile r]\nrole_arn = {ROLE}\nsource_profile = base\n"
    ));
    for (code, status, expect) in [
        (
            "AccessDenied",
            403,
            "check the role's trust policy and your sts:AssumeRole permission",
        ),
        (
            "ExpiredToken",
            400,
            "the source credentials of profile 'base' are invalid or expired",
        ),
        (
            "InvalidClientTokenId",
            403,
            "the source credentials of profile 'base' are invalid or expired",
        ),
        (
            "RegionDisabledException",
            403,
            "STS is not activated in region",
        ),
        (
            "MalformedPolicyDocument",
            400,
            "STS rejected the session policy",
        ),
        ("PackedPolicyTooLarge", 400, "too large once packed"),
    ] {
        let sts = FakeSts::always(Reply::error(status, code, "details from STS"));
        let out = env.stsenv(&["assume", "r", "--endpoint-url", &sts.url, "-s", "zsh"]);
        let err = assert_clean_failure(&out, &[BASE_SECRET]);
        assert!(err.contains(expect), "{code}: {err}");
        assert_no_partial_files(&env);
    }
}

#[test]
fn a_response_without_credentials_or_with_a_bad_expiration_is_an_error() {
    sts_fails(
        Reply::Raw {
            status: 200,
            content_type: "text/xml".into(),
            body: "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>".into(),
        },
        &["without credentials"],
    );
    sts_fails(
        Reply::Credentials {
            access_key_id: "ASIABADEXP".into(),
            secret_access_key: "bad-expiration-secret".into(),
            session_token: "bad-expiration-token".into(),
            expiration: "next tuesday".into(),
        },
        &["STS at", "could not read"],
    );
}

#[test]
fn credentials_expired_on_arrival_are_exported_with_a_warning() {
    let sts = FakeSts::always(Reply::Credentials {
        access_key_id: "ASIASKEWED".into(),
        secret_access_key: "skewed-secret".into(),
        session_token: "skewed-token".into(),
        expiration: "2001-01-01T00:00:00Z".into(),
    });
    let env = TestEnv::with_source_keys();
    let out = env.assume_at(ROLE, &sts.url);
    assert!(out.status.success());
    assert!(stdout(&out).contains("export AWS_ACCESS_KEY_ID='ASIASKEWED' &&"));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("warning") && err.contains("clock"), "{err}");
    assert!(
        !env.home().join(".aws/cli/cache").exists(),
        "expired credentials are not cached"
    );
}

#[test]
fn config_faults_name_the_file_or_profile() {
    let env = TestEnv::new();
    let fails = |env: &TestEnv, target: &str, expect: &str| {
        let out = env.stsenv(&["assume", target, "-s", "bash"]);
        let err = assert_clean_failure(&out, &[BASE_SECRET]);
        assert!(err.contains(expect), "expected {expect:?} in: {err}");
    };
    // Missing file.
    let mut missing = TestEnv::new();
    let path = missing.home().join("nowhere/config").display().to_string();
    missing.set("AWS_CONFIG_FILE", &path);
    fails(&missing, "prod", &path);
    // Unreadable (a directory; permissions don't stop root, this does).
    let mut unreadable = TestEnv::new();
    std::fs::create_dir_all(unreadable.home().join("cfgdir")).unwrap();
    let dir = unreadable.home().join("cfgdir").display().to_string();
    unreadable.set("AWS_CONFIG_FILE", &dir);
    fails(&unreadable, "prod", &format!("{dir} (it is a directory)"));
    // Syntax error.
    let cfg = env.write(
        ".aws/config",
        "[profile ok]\nregion = us-east-1\n[profile broken\nrole_arn = x\n",
    );
    fails(
        &env,
        "ok",
        &format!("error parsing {} on line 3", cfg.display()),
    );
    // Unknown profile, a loop, and a source profile without credentials.
    env.with_base_profile(&format!(
        "[profile a]\nrole_arn = {ROLE}\nsource_profile = b\n[profile b]\nrole_arn = {ROLE}\nsource_profile = a\n\
         [profile empty]\nregion = us-east-1\n[profile uses-empty]\nrole_arn = {ROLE}\nsource_profile = empty\n"
    ));
    fails(&env, "nope", "profile 'nope' not found");
    fails(&env, "a", "source_profile loop: a -> b -> a");
    fails(&env, "uses-empty", "source credentials of profile 'empty'");
}

#[test]
fn without_home_or_a_writable_cache_it_still_works_with_one_warning() {
    let sts = FakeSts::always(Reply::creds(
        "ASIANOCACHE",
        "no-cache-secret",
        "no-cache-token",
    ));
    let mut env = TestEnv::with_source_keys();
    env.vars.retain(|(k, _)| k != "HOME");
    let out = env.assume_at(ROLE, &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIANOCACHE"));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(stderr(&out).contains("HOME is not set"), "{}", stderr(&out));

    // A file where the cache folders should be: even root can't write there.
    let env = TestEnv::with_source_keys();
    env.write(".aws/cli", "not a folder");
    env.write(".cache/stsenv", "not a folder");
    let out = env.assume_at(ROLE, &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one warning: {err}");
    assert!(
        err.contains("could not cache") && err.contains("going on without the cache"),
        "{err}"
    );
}

#[test]
fn ctrl_c_during_the_request_leaves_false_and_nothing_else() {
    let sts = FakeSts::always(Reply::Hang);
    let env = TestEnv::with_source_keys();
    let child = env
        .command(BIN)
        .args(["assume", ROLE, "--endpoint-url", &sts.url, "-s", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sts.requests().is_empty() {
        assert!(Instant::now() < deadline, "no request arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "a shell reports this as 130"
    );
    assert_eq!(
        stdout(&out),
        "false\n",
        "a killed run still makes `eval` fail"
    );
    assert_no_partial_files(&env);
}

#[test]
fn invalid_utf8_and_nul_are_refused_cleanly() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let out = env
        .command(BIN)
        .arg("assume")
        .arg(std::ffi::OsStr::from_bytes(b"prod\xff"))
        .args(["-s", "bash"])
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, &[]);
    assert!(err.contains("UTF-8"), "{err}");
    let sts = FakeSts::always(Reply::creds("ASIA\0NUL", "nul-secret", "nul-token"));
    let out = TestEnv::with_source_keys().assume_at(ROLE, &sts.url);
    assert_clean_failure(&out, &[]);
}

#[test]
fn large_inputs_seven_thousand_profiles_a_4_kb_token_a_2_kb_policy() {
    let token: String = (0..4096).map(|i| (b'A' + (i % 26) as u8) as char).collect();
    let sts = FakeSts::always(Reply::creds("ASIALARGE", "large-secret", &token));
    let env = TestEnv::new();
    let mut config = String::new();
    for i in 0..7000 {
        config.push_str(&format!("[profile p{i}]\nrole_arn = arn:aws:iam::123456789012:role/r{i}\nsource_profile = base\n"));
    }
    env.with_base_profile(&config);
    let statements: Vec<String> = (0..40)
        .map(|i| format!("{{\"Sid\":\"S{i:02}\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}"))
        .collect();
    let policy = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}",
        statements.join(",")
    );
    assert!(policy.len() > 2048, "{}", policy.len());
    for sh in shells::ALL {
        let vars = shells::assume_in(
            &env,
            sh,
            &[
                "p6999",
                "--endpoint-url",
                &sts.url,
                "--policy",
                &policy,
                "--no-cache",
            ],
            &[],
        );
        assert_eq!(
            get(&vars, "AWS_SESSION_TOKEN").as_deref(),
            Some(token.as_str()),
            "{sh:?}"
        );
        assert_eq!(
            get(&vars, "STSENV_ROLE_ARN").as_deref(),
            Some("arn:aws:iam::123456789012:role/r6999")
        );
    }
    for r in sts.requests() {
        assert_eq!(r.param("Policy"), Some(policy.as_str()));
    }
}

#[test]
fn verbose_says_each_step_and_no_secret() {
    let sts = FakeSts::always(Reply::creds(
        "ASIAVERBOSE",
        "verbose-secret-value",
        "verbose-token-value",
    ));
    let env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile r]\nrole_arn = {ROLE}\nsource_profile = base\n"
    ));
    let out = env.stsenv(&[
        "-v",
        "assume",
        "r",
        "--endpoint-url",
        &sts.url,
        "-s",
        "bash",
    ]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("AssumeRole arn:aws:iam::123456789012:role/faulty"),
        "{err}"
    );
    assert!(err.contains("cached in"), "{err}");
    let out = env.stsenv(&[
        "--verbose",
        "assume",
        "r",
        "--endpoint-url",
        &sts.url,
        "-s",
        "bash",
    ]);
    assert!(stderr(&out).contains("cache hit"), "{}", stderr(&out));
}

/// The security findings about this feature.
mod security {
    use crate::common::demo;
    use crate::common::demo::ROLE as DEMO;
    use crate::common::fake_sts::FakeSts;
    use crate::common::fake_sts::Reply;
    use crate::common::*;
    use std::process::Stdio;

    /// Security round 2, finding 7: An endless body and a huge message are cut off.
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

    /// Security round 2, finding 20: Messages say what actually failed.
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
        let mut env = demo::env(&sts);
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
}
