//! Input that is wrong fails before any request, with one line that names the bad value.

use crate::common::*;

fn fails(env: &TestEnv, args: &[&str], expect: &str) {
    let out = env.stsenv(args);
    let err = assert_clean_failure(&out, &[BASE_SECRET]);
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
}

#[test]
fn bad_role_arn_is_named() {
    let env = TestEnv::new();
    fails(
        &env,
        &["assume", "arn:aws:iam::1234:role/x", "-s", "bash"],
        "invalid role ARN 'arn:aws:iam::1234:role/x'",
    );
}

#[test]
fn duration_out_of_range_is_named() {
    let env = TestEnv::new();
    let arn = role_arn("x");
    fails(
        &env,
        &["assume", &arn, "-d", "13h", "-s", "bash"],
        "invalid duration '13h'",
    );
    fails(
        &env,
        &["assume", &arn, "-d", "60", "-s", "bash"],
        "900 s (15m) to 43200 s (12h)",
    );
    fails(
        &env,
        &["assume", &arn, "-d", "soon", "-s", "bash"],
        "invalid duration 'soon'",
    );
}

#[test]
fn other_values_are_checked_locally() {
    let env = TestEnv::new();
    let arn = role_arn("x");
    fails(
        &env,
        &["assume", &arn, "-n", "bad name", "-s", "bash"],
        "invalid session name 'bad name'",
    );
    fails(
        &env,
        &["assume", &arn, "--tag", "novalue", "-s", "bash"],
        "invalid tag 'novalue'",
    );
    fails(
        &env,
        &["assume", &arn, "--policy", "{nope", "-s", "bash"],
        "not valid JSON",
    );
    fails(
        &env,
        &[
            "assume",
            &arn,
            "--policy",
            "@/nonexistent/p.json",
            "-s",
            "bash",
        ],
        "/nonexistent/p.json",
    );
    fails(
        &env,
        &["assume", &arn, "--token-code", "12ab56", "-s", "bash"],
        "invalid MFA token code '12ab56'",
    );
    fails(
        &env,
        &[
            "assume",
            &arn,
            "--endpoint-url",
            "localhost:1",
            "-s",
            "bash",
        ],
        "invalid endpoint URL",
    );
}

#[test]
fn unknown_profile_suggests_the_closest_names() {
    let env = TestEnv::new();
    env.with_base_profile("[profile prod-admin]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = base\n[profile dev]\nregion = us-east-1\n");
    fails(
        &env,
        &["assume", "prod-admn", "-s", "bash"],
        "did you mean 'prod-admin'?",
    );
    fails(&env, &["assume", "prod-admn", "-s", "bash"], ".aws/config");
}

#[test]
fn source_profile_loop_is_named() {
    let env = TestEnv::new();
    env.with_base_profile(
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n",
    );
    fails(
        &env,
        &["assume", "a", "-s", "bash"],
        "source_profile loop: a -> b -> a",
    );
}

#[test]
fn usage_errors_still_make_eval_fail() {
    let env = TestEnv::new();
    fails(
        &env,
        &["assume", "x", "--bogus", "-s", "bash"],
        "unexpected argument '--bogus'",
    );
    fails(&env, &["assume"], "TARGET");
}

#[test]
fn no_credentials_anywhere_says_how_to_get_some() {
    let env = TestEnv::new();
    fails(
        &env,
        &["assume", &role_arn("x"), "-s", "bash"],
        "no AWS credentials found",
    );
}

#[test]
fn json_and_dotenv_failures_leave_stdout_empty() {
    let env = TestEnv::new();
    for shell in ["json", "dotenv"] {
        let out = env.stsenv(&["assume", "arn:bad", "-s", shell]);
        assert!(!out.status.success());
        assert_eq!(stdout(&out), "", "{shell}");
        assert_eq!(stderr(&out).lines().count(), 1);
    }
}

/// The security findings about this feature.
mod security {
    use crate::common::demo::ROLE as DEMO;
    use crate::common::*;

    /// Security round 2, finding 11: Control characters never reach the terminal raw.
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
}
