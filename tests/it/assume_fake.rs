//! `stsenv assume` against the project's fake STS: exact bytes of hostile values through every
//! real shell and the PowerShell rules, the parameters sent to STS, and faults.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::shells::{self, Sh};
use crate::common::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/hostile";

/// Values that break naive quoting somewhere: every quote kind, backslashes (one trailing),
/// command substitution, separators, line breaks, globs, spaces, non-ASCII.
pub const HOSTILE: [&str; 18] = [
    "it's",
    "\"double\"",
    "\u{2018}curly\u{2019} \u{201A}low\u{201B}",
    "back\\slash\\",
    "$(touch pwned1)",
    "`touch pwned2`",
    "a; touch pwned3",
    "line1\nline2\n",
    "  two  spaces  ",
    "*",
    "caf\u{e9} \u{65e5}\u{672c}",
    "$HOME ${HOME} %PATH%",
    "!x !! ^y",
    "\\'",
    "'\\''",
    "\\",
    "tab\there | & > <",
    "''\u{2019}\u{2019}",
];

/// The hostile values three at a time, as access key, secret and token.
fn hostile_triples() -> Vec<[&'static str; 3]> {
    HOSTILE
        .chunks(3)
        .map(|c| [c[0], c[1 % c.len()], c[2 % c.len()]])
        .collect()
}

#[test]
fn hostile_values_round_trip_through_every_shell() {
    for [akid, secret, token] in hostile_triples() {
        let sts = FakeSts::always(Reply::creds(akid, secret, token));
        let env = TestEnv::with_source_keys();
        for sh in shells::ALL {
            let vars = shells::assume_in(&env, sh, &[ROLE, "--endpoint-url", &sts.url], &[]);
            shells::assert_credentials(&vars, sh, akid, secret, Some(token));
        }
        let left: Vec<_> = std::fs::read_dir(env.home())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("pwned"))
            .collect();
        assert!(left.is_empty(), "a value was executed: {left:?}");
    }
}

#[test]
fn hostile_values_follow_powershell_quoting_rules() {
    for [akid, secret, token] in hostile_triples() {
        let sts = FakeSts::always(Reply::creds(akid, secret, token));
        let env = TestEnv::with_source_keys();
        for flag in ["powershell", "pwsh"] {
            let out = env.stsenv(&["assume", ROLE, "--endpoint-url", &sts.url, "--shell", flag]);
            assert!(out.status.success(), "{}", stderr(&out));
            let mut vars = BTreeMap::new();
            vars.insert("AWS_PROFILE".to_string(), Some("stale".to_string()));
            pwsh::apply(&stdout(&out), &mut vars);
            assert_eq!(vars["AWS_ACCESS_KEY_ID"].as_deref(), Some(akid));
            assert_eq!(vars["AWS_SECRET_ACCESS_KEY"].as_deref(), Some(secret));
            assert_eq!(vars["AWS_SESSION_TOKEN"].as_deref(), Some(token));
            assert_eq!(vars["STSENV_PROFILE"].as_deref(), Some(ROLE));
            assert_eq!(vars["AWS_PROFILE"], None);
        }
    }
}

#[test]
fn hostile_values_survive_json_and_are_refused_by_dotenv() {
    let expiration = stsenv::time::rfc3339(stsenv::time::now() + 3600);
    let sts = FakeSts::always(Reply::Credentials {
        access_key_id: "AKID".into(),
        secret_access_key: "se\"cr\\et\n".into(),
        session_token: "to'ken".into(),
        expiration: expiration.clone(),
    });
    let env = TestEnv::with_source_keys();
    let out = env.stsenv(&[
        "assume",
        ROLE,
        "--endpoint-url",
        &sts.url,
        "--shell",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"se\\\"cr\\\\et\\n\",\"SessionToken\":\"to'ken\",\"Expiration\":\"{expiration}\"}}\n")
    );
    let out = env.stsenv(&[
        "assume",
        ROLE,
        "--endpoint-url",
        &sts.url,
        "--shell",
        "dotenv",
    ]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "", "dotenv output must be empty on failure");
    let err = stderr(&out);
    assert!(
        err.contains("AWS_SECRET_ACCESS_KEY") && err.contains("line break"),
        "{err}"
    );
    assert!(!err.contains("se\"cr"), "secret on stderr: {err}");
}

#[test]
fn every_option_reaches_sts() {
    let sts = FakeSts::always(Reply::creds("AKID", "SECRET", "TOKEN"));
    // Temporary source credentials: the MFA code then travels on AssumeRole itself.
    let mut env = TestEnv::with_source_keys();
    env.set("AWS_SESSION_TOKEN", "SOURCE-SESSION");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let policy_file = env.write("policy.json", policy);
    let out = env.stsenv(&[
        "assume",
        ROLE,
        "--endpoint-url",
        &sts.url,
        "-s",
        "bash",
        "-n",
        "my-session",
        "-d",
        "1h30m",
        "--external-id",
        "ext-123",
        "--mfa-serial",
        "arn:aws:iam::123456789012:mfa/alice",
        "--token-code",
        "123456",
        "--policy",
        &format!("@{}", policy_file.display()),
        "--policy-arn",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "--tag",
        "team=blue",
        "--tag",
        "cost=42",
        "--source-identity",
        "alice",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.action(), "AssumeRole");
    let expect = [
        ("RoleArn", ROLE),
        ("RoleSessionName", "my-session"),
        ("DurationSeconds", "5400"),
        ("ExternalId", "ext-123"),
        ("SerialNumber", "arn:aws:iam::123456789012:mfa/alice"),
        ("TokenCode", "123456"),
        ("Policy", policy),
        (
            "PolicyArns.member.1.arn",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "blue"),
        ("Tags.member.2.Key", "cost"),
        ("SourceIdentity", "alice"),
    ];
    for (k, v) in expect {
        assert_eq!(r.param(k), Some(v), "{k} in {:?}", r.params);
    }
    assert!(
        r.authorization.contains(&format!("Credential={BASE_KEY}/")),
        "{}",
        r.authorization
    );
    assert!(
        r.authorization.contains("/us-east-1/sts/aws4_request"),
        "{}",
        r.authorization
    );
}

#[test]
fn profile_settings_reach_each_hop_and_flags_win_on_the_last() {
    let sts = FakeSts::start(|r, n| {
        let arn = r.param("RoleArn").unwrap_or_default();
        Reply::creds(
            &format!("AKID{n}"),
            &format!("SECRET{n}"),
            &format!("TOKEN-{arn}"),
        )
    });
    let env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile first]\nrole_arn = {}\nsource_profile = base\nexternal_id = ext-first\nduration_seconds = 1200\nrole_session_name = one\nendpoint_url = {url}\n\n\
         [profile second]\nrole_arn = {}\nsource_profile = first\nexternal_id = ext-second\nduration_seconds = 7200\nendpoint_url = {url}\n",
        role_arn("first"),
        role_arn("second"),
        url = sts.url
    ));
    let out = env.stsenv(&["assume", "second", "-s", "sh", "-d", "15m"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 2, "one AssumeRole per hop");
    let first = &reqs[0];
    assert_eq!(first.param("RoleArn"), Some(role_arn("first").as_str()));
    assert_eq!(first.param("ExternalId"), Some("ext-first"));
    assert_eq!(first.param("DurationSeconds"), Some("1200"));
    assert_eq!(first.param("RoleSessionName"), Some("one"));
    assert!(first.authorization.contains(BASE_KEY));
    let second = &reqs[1];
    assert_eq!(second.param("ExternalId"), Some("ext-second"));
    assert_eq!(
        second.param("DurationSeconds"),
        Some("900"),
        "-d wins over duration_seconds"
    );
    assert_eq!(second.param("RoleSessionName"), Some("stsenv-tester"));
    assert!(
        second.authorization.contains("Credential=AKID0/"),
        "second hop signs with the first hop's keys"
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "export AWS_SESSION_TOKEN='TOKEN-{}' &&",
            role_arn("second")
        )),
        "{text}"
    );
}

#[test]
fn mfa_serial_in_the_profile_gets_an_mfa_session_first() {
    let sts = FakeSts::start(|r, n| Reply::creds(&format!("{}{n}", r.action()), "SECRET", "TOKEN"));
    let env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile mfa]\nrole_arn = {}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/bob\n",
        role_arn("mfa")
    ));
    let out = env.stsenv(&["assume", "mfa", "-s", "bash", "--endpoint-url", &sts.url]);
    let err = assert_clean_failure(&out, &[BASE_SECRET]);
    assert!(
        err.contains("MFA code needed for arn:aws:iam::123456789012:mfa/bob (mfa): pass --token-code, set mfa_process, or run in a terminal"),
        "{err}"
    );
    assert!(sts.requests().is_empty(), "no request without a code");
    let out = env.stsenv(&[
        "assume",
        "mfa",
        "-s",
        "bash",
        "--endpoint-url",
        &sts.url,
        "--token-code",
        "654321",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].action(), "GetSessionToken");
    assert_eq!(
        reqs[0].param("SerialNumber"),
        Some("arn:aws:iam::123456789012:mfa/bob")
    );
    assert_eq!(reqs[0].param("TokenCode"), Some("654321"));
    assert_eq!(reqs[0].param("DurationSeconds"), Some("43200"));
    assert!(reqs[0].authorization.contains(BASE_KEY));
    assert_eq!(reqs[1].action(), "AssumeRole");
    assert_eq!(
        reqs[1].param("SerialNumber"),
        None,
        "the MFA session already carries MFA"
    );
    assert!(
        reqs[1]
            .authorization
            .contains("Credential=GetSessionToken0/"),
        "{}",
        reqs[1].authorization
    );
}

fn fails_cleanly(reply: Reply, expect: &str) -> (FakeSts, String) {
    let sts = FakeSts::always(reply);
    let env = TestEnv::with_source_keys();
    let out = env.assume_at(ROLE, &sts.url);
    let err = assert_clean_failure(&out, &[BASE_SECRET, BASE_KEY]);
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
    (sts, err)
}

#[test]
fn access_denied_points_at_the_trust_policy() {
    fails_cleanly(
        Reply::error(
            403,
            "AccessDenied",
            "User is not authorized to perform: sts:AssumeRole",
        ),
        "check the role's trust policy and your sts:AssumeRole permission",
    );
}

#[test]
fn invalid_source_credentials_are_named() {
    fails_cleanly(
        Reply::error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        "the source credentials from the default credential chain are invalid or expired",
    );
    fails_cleanly(
        Reply::error(400, "ExpiredToken", "expired"),
        "invalid or expired",
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let (sts, err) = fails_cleanly(
        Reply::Raw {
            status: 500,
            content_type: "text/plain".into(),
            body: "boom".into(),
        },
        "STS at http://127.0.0.1:",
    );
    assert!(
        sts.requests().len() >= 2,
        "a 500 is retried: {} requests",
        sts.requests().len()
    );
    assert!(err.contains("500"), "{err}");
}

#[test]
fn refused_connection_names_the_endpoint_quickly() {
    let port = crate::common::moto::free_port();
    let env = TestEnv::with_source_keys();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let out = env.stsenv(&["assume", ROLE, "--endpoint-url", &url, "-s", "zsh"]);
    let err = assert_clean_failure(&out, &[BASE_SECRET]);
    assert!(
        err.contains(&format!("could not reach STS at {url}")),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
    // Not a timing assertion on speed, a bound on hanging: retries must not take minutes.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_silent_endpoint_fails_at_the_timeout() {
    let sts = FakeSts::always(Reply::Hang);
    let env = TestEnv::with_source_keys();
    let out = env.stsenv(&[
        "assume",
        ROLE,
        "--endpoint-url",
        &sts.url,
        "-s",
        "fish",
        "--timeout",
        "2",
    ]);
    let err = assert_clean_failure(&out, &[BASE_SECRET]);
    assert!(
        err.contains("no answer from STS") && err.contains("--timeout"),
        "{err}"
    );
}

#[test]
fn garbage_responses_are_reported_not_panicked_on() {
    fails_cleanly(
        Reply::Raw {
            status: 200,
            content_type: "text/html".into(),
            body: "<html>hello".into(),
        },
        "STS at http://127.0.0.1:",
    );
}

#[test]
fn a_failed_assume_changes_no_variable_in_any_shell() {
    let sts = FakeSts::always(Reply::error(403, "AccessDenied", "no"));
    let env = TestEnv::with_source_keys();
    for sh in shells::ALL {
        let script = format!(
            "{}; echo SHOULD-NOT-RUN",
            sh.apply(&[ROLE, "--endpoint-url", &sts.url])
        );
        let out = sh.run(&env, &script, &[]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(3), "{sh:?}: eval must fail: {text}");
        assert!(
            text.contains("EVAL-FAILED") && !text.contains("SHOULD-NOT-RUN"),
            "{sh:?}: {text}"
        );
        // `set -e` scripts stop at the failed eval, with the old identity untouched; in nu
        // the failed pipeline itself stops the script.
        let stop = match sh {
            Sh::Fish => None,
            Sh::Nu => Some(format!(
                "^$env.STSENV assume {ROLE} --endpoint-url {} | from json | load-env; print CONTINUED",
                sts.url
            )),
            _ => Some(format!(
                "set -e; eval \"$(\"$STSENV\" assume {ROLE} --endpoint-url {})\"; echo CONTINUED",
                sts.url
            )),
        };
        if let Some(script) = stop {
            let out = sh.run(&env, &script, &[]);
            assert!(
                !out.status.success() && !stdout(&out).contains("CONTINUED"),
                "{sh:?}"
            );
        }
        let apply = sh.apply(&[ROLE, "--endpoint-url", &sts.url]);
        let ignored = match sh {
            Sh::Nu => apply.replace("print EVAL-FAILED; exit 3", ""),
            _ => format!(
                "{} 2>/dev/null",
                apply
                    .split(" ||")
                    .next()
                    .unwrap()
                    .split("; or")
                    .next()
                    .unwrap()
            ),
        };
        let script = format!(
            "{ignored}; {}",
            sh.dump(&[
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN"
            ])
        );
        let out = sh.run(&env, &script, &[]);
        let vars = shells::parse(&out.stdout);
        shells::assert_credentials(&vars, sh, BASE_KEY, BASE_SECRET, None);
    }
}

#[test]
fn source_credentials_come_from_aws_config_providers() {
    let sts = FakeSts::numbered(3600);
    // credential_process, resolved by aws-config.
    let env = TestEnv::new();
    let json =
        r#"{"Version":1,"AccessKeyId":"AKIAFROMPROCESS","SecretAccessKey":"process-secret-value"}"#;
    env.write("creds.json", json);
    env.write(
        ".aws/config",
        &format!(
            "[profile proc]\ncredential_process = cat {}\n[profile via-proc]\nrole_arn = {ROLE}\nsource_profile = proc\n",
            env.home().join("creds.json").display()
        ),
    );
    let out = env.assume_at("via-proc", &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = &sts.calls("AssumeRole")[0];
    assert!(
        r.authorization.contains("Credential=AKIAFROMPROCESS/"),
        "{}",
        r.authorization
    );
    // credential_source = Environment.
    let env = TestEnv::with_source_keys();
    env.write(
        ".aws/config",
        &format!("[profile via-env]\nrole_arn = {ROLE}\ncredential_source = Environment\n"),
    );
    let out = env.assume_at("via-env", &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = &sts.calls("AssumeRole")[1];
    assert!(
        r.authorization.contains(&format!("Credential={BASE_KEY}/")),
        "{}",
        r.authorization
    );
}

#[test]
fn a_role_arn_with_aws_profile_set_walks_that_profile_like_the_cli() {
    let sts = FakeSts::numbered(3600);
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile first]\nrole_arn = {}\nsource_profile = base\nexternal_id = ext-first\n",
        role_arn("first")
    ));
    env.set("AWS_PROFILE", "first");
    let out = env.assume_at(ROLE, &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = sts.calls("AssumeRole");
    assert_eq!(calls.len(), 2, "the profile's role, then the ARN");
    assert_eq!(calls[0].param("ExternalId"), Some("ext-first"));
    assert!(calls[0].authorization.contains(BASE_KEY));
    assert_eq!(calls[1].param("RoleArn"), Some(ROLE));
    assert!(calls[1].authorization.contains("Credential=AssumeRole0/"));
    // Keys in the environment win over AWS_PROFILE, as in the CLI.
    env.set("AWS_ACCESS_KEY_ID", "AKIAENVWINS");
    env.set("AWS_SECRET_ACCESS_KEY", "env-wins-secret");
    let out = env.assume_at(ROLE, &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let last = sts.calls("AssumeRole").pop().unwrap();
    assert!(
        last.authorization.contains("Credential=AKIAENVWINS/"),
        "{}",
        last.authorization
    );
}

#[test]
fn whoami_assumes_a_profile_at_the_endpoint_it_asks() {
    let sts = FakeSts::numbered(3600);
    let env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile p]\nrole_arn = {ROLE}\nsource_profile = base\nregion = us-east-1\n"
    ));
    let out = env.stsenv(&["whoami", "--profile", "p", "--endpoint-url", &sts.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let actions: Vec<String> = sts
        .requests()
        .iter()
        .map(|r| r.action().to_string())
        .collect();
    assert_eq!(actions, ["AssumeRole", "GetCallerIdentity"]);
    assert!(
        stdout(&out).contains("assumed-role/key/AssumeRole0"),
        "{}",
        stdout(&out)
    );
}
