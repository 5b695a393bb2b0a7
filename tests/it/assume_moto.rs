//! `stsenv assume` against a real STS (moto on loopback), applied in the real shells, then
//! checked with the real aws CLI.

use crate::common::moto::moto;
use crate::common::shells::{self, get, Sh};
use crate::common::*;

/// Applies `stsenv assume ARGS` in `sh` the way users do, then asks the aws CLI, in the same
/// shell, who it is. Returns the variables and the caller ARN.
fn assume_and_ask(env: &TestEnv, sh: Sh, args: &[&str], unquoted: bool) -> (shells::Vars, String) {
    let mut apply = sh.apply(args);
    if unquoted {
        // The old tutorials' form: the output is word-split and joined back by eval.
        apply = apply
            .replacen("eval \"$(", "eval $(", 1)
            .replacen(")\" ||", ") ||", 1);
    }
    let ask = "aws sts get-caller-identity --query Arn --output text > \"$HOME/arn.txt\"";
    let dump = sh.dump(&shells::vars());
    let script = match sh {
        Sh::Fish => format!("{apply}; {ask}; or exit 4; {dump}"),
        // A failed external stops nu's script.
        Sh::Nu => format!(
            "{apply}; ^aws sts get-caller-identity --query Arn --output text | save -f ($env.HOME | path join arn.txt); {dump}"
        ),
        _ => format!("{apply}; {ask} || exit 4; {dump}"),
    };
    let out = sh.run(env, &script, &[]);
    assert!(
        out.status.success(),
        "{}: {} stderr: {}",
        sh.program(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let arn = std::fs::read_to_string(env.home().join("arn.txt")).unwrap();
    (shells::parse(&out.stdout), arn.trim().to_string())
}

/// The default session name stsenv should pick: fish resets USER from the password
/// database at start-up, the other shells pass on the test's USER.
fn default_session(sh: Sh) -> String {
    if sh != Sh::Fish {
        return "stsenv-tester".into();
    }
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    format!("stsenv-{}", String::from_utf8_lossy(&out.stdout).trim())
}

fn moto_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.set("AWS_ENDPOINT_URL", &moto().url);
    env
}

#[test]
fn role_arn_from_the_default_chain_in_every_shell() {
    let env = {
        let mut e = moto_env();
        e.set("AWS_ACCESS_KEY_ID", BASE_KEY);
        e.set("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
        e
    };
    moto().create_role(&env, "deploy");
    let arn = role_arn("deploy");
    for sh in shells::ALL {
        let (vars, caller) = assume_and_ask(
            &env,
            sh,
            &[&arn, "--region", "eu-west-1", "--no-cache"],
            false,
        );
        assert_eq!(
            caller,
            format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/deploy/{}",
                default_session(sh)
            ),
            "{sh:?}"
        );
        assert_ne!(get(&vars, "AWS_ACCESS_KEY_ID").unwrap(), BASE_KEY);
        assert_eq!(get(&vars, "STSENV_PROFILE").unwrap(), arn);
        assert_eq!(get(&vars, "STSENV_ROLE_ARN").unwrap(), arn);
        assert_eq!(get(&vars, "AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(
            get(&vars, "AWS_DEFAULT_REGION").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            get(&vars, "AWS_PROFILE"),
            None,
            "{sh:?}: AWS_PROFILE must be unset"
        );
        let exp = get(&vars, "AWS_CREDENTIAL_EXPIRATION").unwrap();
        assert!(
            exp.ends_with('Z') && !exp.contains('.') && exp.len() == 20,
            "{exp}"
        );
        let secs: i64 = get(&vars, "STSENV_EXPIRES").unwrap().parse().unwrap();
        assert!(secs > 1_700_000_000);
    }
}

#[test]
fn unquoted_eval_from_old_tutorials_works() {
    let env = {
        let mut e = moto_env();
        e.set("AWS_ACCESS_KEY_ID", BASE_KEY);
        e.set("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
        e.set("AWS_REGION", "us-east-1");
        e
    };
    for sh in [Sh::Bash, Sh::Zsh, Sh::Dash] {
        let arn = role_arn("unquoted");
        let (vars, caller) = assume_and_ask(&env, sh, &[&arn, "-n", "old-style"], true);
        assert_eq!(
            caller,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/unquoted/old-style"),
            "{sh:?}"
        );
        assert!(get(&vars, "AWS_SESSION_TOKEN").unwrap().len() > 100);
    }
}

const PROFILES: &str = "\
[profile deploy]
role_arn = arn:aws:iam::123456789012:role/deploy
source_profile = base
region = eu-west-1

[profile chain]
role_arn = arn:aws:iam::123456789012:role/second
source_profile = deploy
role_session_name = chained
region = ap-southeast-2
";

#[test]
fn profile_with_source_profile_in_every_shell() {
    let mut env = moto_env();
    env.with_base_profile(PROFILES);
    // Stale values a previous identity left behind: stsenv must clear them.
    env.set("AWS_PROFILE", "base");
    env.set("AWS_SECURITY_TOKEN", "stale");
    moto().create_role(&env, "deploy");
    for sh in shells::ALL {
        let (vars, caller) = assume_and_ask(&env, sh, &["deploy", "--no-cache"], false);
        assert_eq!(
            caller,
            format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/deploy/{}",
                default_session(sh)
            ),
            "{sh:?}"
        );
        assert_eq!(get(&vars, "STSENV_PROFILE").as_deref(), Some("deploy"));
        assert_eq!(get(&vars, "AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(get(&vars, "AWS_PROFILE"), None);
        assert_eq!(get(&vars, "AWS_SECURITY_TOKEN"), None);
    }
}

#[test]
fn two_hop_chain_in_every_shell() {
    let env = moto_env();
    env.with_base_profile(PROFILES);
    moto().create_role(&env, "deploy");
    moto().create_role(&env, "second");
    for sh in shells::ALL {
        let (vars, caller) = assume_and_ask(&env, sh, &["chain"], false);
        assert_eq!(
            caller,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/second/chained"),
            "{sh:?}"
        );
        assert_eq!(get(&vars, "STSENV_ROLE_ARN"), Some(role_arn("second")));
        assert_eq!(
            get(&vars, "AWS_DEFAULT_REGION").as_deref(),
            Some("ap-southeast-2")
        );
    }
}

#[test]
fn role_arn_with_source_profile_flag_and_every_output_format() {
    let env = moto_env();
    env.with_base_profile(PROFILES);
    let arn = role_arn("formats");
    // json is what credential_process reads.
    let out = env.stsenv(&["assume", &arn, "-p", "deploy", "--shell", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = stdout(&out);
    assert!(
        json.starts_with("{\"Version\":1,\"AccessKeyId\":\""),
        "{json}"
    );
    for key in ["SecretAccessKey", "SessionToken", "Expiration"] {
        assert!(json.contains(&format!("\"{key}\":\"")), "{json}");
    }
    // dotenv is what docker --env-file reads: plain KEY=value lines.
    let out = env.stsenv(&["assume", &arn, "-p", "deploy", "--shell", "dotenv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("AWS_SESSION_TOKEN=")),
        "{text}"
    );
    assert!(
        lines.iter().all(|l| !l.contains('\'') && l.contains('=')),
        "{text}"
    );
    let akid = lines[0].strip_prefix("AWS_ACCESS_KEY_ID=").unwrap();
    let secret = lines[1].strip_prefix("AWS_SECRET_ACCESS_KEY=").unwrap();
    let token = lines[2].strip_prefix("AWS_SESSION_TOKEN=").unwrap();
    let caller = env.caller_arn(&[
        ("AWS_ACCESS_KEY_ID", akid.into()),
        ("AWS_SECRET_ACCESS_KEY", secret.into()),
        ("AWS_SESSION_TOKEN", token.into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ]);
    assert_eq!(
        caller,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/formats/stsenv-tester")
    );
}

#[test]
fn a_profile_without_role_arn_is_exported_as_it_is() {
    let env = moto_env();
    env.with_base_profile("[profile base]\nregion = us-west-2\n");
    for sh in shells::ALL {
        let vars = shells::assume_in(&env, sh, &["base"], &[]);
        shells::assert_credentials(&vars, sh, BASE_KEY, BASE_SECRET, None);
        assert_eq!(get(&vars, "STSENV_ROLE_ARN"), None);
        assert_eq!(get(&vars, "AWS_REGION").as_deref(), Some("us-west-2"));
    }
}
