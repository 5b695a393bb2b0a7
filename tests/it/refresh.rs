//! `stsenv refresh` and the hooks' auto-refresh: the same target with exactly the same
//! options, never signed with the expiring session's own keys.

use crate::common::demo;
use crate::common::demo::ROLE as DEMO;
use crate::common::fake_sts::FakeSts;
use crate::common::shells::{self, Sh};
use crate::common::*;

/// Security round 2, finding 2: A refresh replays the original arguments and never signs with
/// the session's own keys.
#[test]
fn refresh_replays_every_argument_and_never_signs_with_the_session() {
    let sts = FakeSts::numbered(3600);
    let env = demo::env(&sts);
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
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish, Sh::Nu] {
        let refresh = match sh {
            Sh::Fish => "\"$STSENV\" refresh --shell fish | source; or exit 4".to_string(),
            Sh::Nu => "^$env.STSENV refresh --shell nu | from json | load-env".to_string(),
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
    assert_eq!(calls.len(), 8);
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

/// Security round 2, finding 2: A refresh replays the original arguments and never signs with
/// the session's own keys.
#[test]
fn refresh_of_a_role_arn_keeps_the_profile_and_endpoint_and_takes_odd_names() {
    let sts = FakeSts::numbered(3600);
    let mut env = demo::env(&sts);
    env.vars.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    let mut config = demo::read(&env, ".aws/config");
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

/// Security round 2, finding 2: A refresh replays the original arguments and never signs with
/// the session's own keys.
#[test]
fn the_hooks_auto_refresh_replays_the_arguments() {
    let sts = FakeSts::numbered(3600);
    let env = demo::env(&sts);
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish, Sh::Nu] {
        let init = match sh {
            Sh::Fish => "\"$STSENV\" init fish | source".to_string(),
            Sh::Nu => shells::nu_init(&env, BIN),
            _ => format!("eval \"$(\"$STSENV\" init {})\"", sh.program()),
        };
        // The session is made to look nearly expired; the prompt hook then refreshes it.
        let expire = match sh {
            Sh::Fish => {
                "set -gx STSENV_EXPIRES (math (date +%s) + 60); set -g STSENV_AUTO_REFRESH 1"
            }
            Sh::Nu => "$env.STSENV_EXPIRES = ((date now | into int) // 1_000_000_000 + 60 | into string); $env.STSENV_AUTO_REFRESH = '1'",
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
    assert_eq!(calls.len(), 8);
    for c in &calls {
        assert_eq!(c.param("RoleSessionName"), Some("restricted"));
        assert_eq!(c.param("Tags.member.1.Value"), Some("ro"));
        assert!(c.authorization.contains(&format!("Credential={BASE_KEY}/")));
    }
}
