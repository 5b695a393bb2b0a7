//! `stsenv sso sync`: every account and role of an SSO session as a profile, against the fake
//! portal (pages, throttling, an account that fails), read back by the AWS CLI and boto3, and
//! assumed with stsenv; the user's own file untouched around it.

use std::os::unix::fs::PermissionsExt;

use crate::common::fake_sso::{FakeSso, Outcome, Portal};
use crate::common::fake_sts::FakeSts;
use crate::common::*;

const START_URL: &str = "https://d-123.awsapps.com/start";
const TOKEN_FILE: &str = ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

/// The user's own config: comments, a profile of their own that clashes with a generated
/// name, and the session.
fn user_config() -> String {
    format!(
        "# my config\n[default]\nregion = eu-central-1\n\n[profile prod.Admin]\n# hand-made, keep it\nregion = us-west-2\n\n\
         [sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
    )
}

fn env_with(portal: Portal) -> (TestEnv, FakeSso) {
    let mut env = TestEnv::new();
    env.write(".aws/config", &user_config());
    let sso = FakeSso::start(env.home().join("browser.log"), Outcome::Approve);
    let expires = stsenv::time::rfc3339(stsenv::time::now() + 8 * 3600);
    env.write(
        TOKEN_FILE,
        &format!("{{\"startUrl\": \"{START_URL}\", \"region\": \"us-east-1\", \"accessToken\": \"cli-written-token-sync\", \"expiresAt\": \"{expires}\"}}"),
    );
    register_secret("cli-written-token-sync");
    sso.set_portal(portal);
    env.set("AWS_ENDPOINT_URL_SSO_OIDC", &sso.url);
    env.set("AWS_ENDPOINT_URL_SSO", &sso.url);
    (env, sso)
}

fn accounts() -> Vec<(String, String, Vec<String>)> {
    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            "111111111111".into(),
            "prod".into(),
            roles(&["Admin", "ReadOnly"]),
        ),
        ("222222222222".into(), "Dev Team".into(), roles(&["Admin"])),
        ("333333333333".into(), "Dev/Team".into(), roles(&["Admin"])),
        ("444444444444".into(), "Müller".into(), roles(&["Ops"])),
    ]
}

fn config(env: &TestEnv) -> String {
    std::fs::read_to_string(env.home().join(".aws/config")).unwrap()
}

#[test]
fn sync_writes_every_role_keeps_the_users_file_and_is_stable() {
    let (env, sso) = env_with(Portal {
        accounts: accounts(),
        page: 1,
        throttle_every: 3,
        ..Portal::default()
    });
    let out = env.stsenv(&["sso", "sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("profile prod.Admin exists and is your own"),
        "{err}"
    );
    let text = config(&env);
    assert!(
        text.starts_with(&user_config()),
        "the user's bytes changed:\n{text}"
    );
    for name in [
        "prod.ReadOnly",
        "Dev-Team-222222222222.Admin",
        "Dev-Team-333333333333.Admin",
        "M-ller.Ops",
    ] {
        assert!(
            text.contains(&format!("[profile {name}]\n")),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("[profile prod.ReadOnly]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-east-1\nstsenv_generated_from = corp\n"), "{text}");
    assert_eq!(text.matches("[profile prod.Admin]").count(), 1);
    // Every page was followed, through the throttling.
    assert!(sso.to("/assignment/accounts").len() >= 4);
    // Nothing changed: the file is byte for byte the same, and says so.
    let before = config(&env);
    let out = env.stsenv(&["sso", "sync", "corp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("up to date"), "{}", stderr(&out));
    assert_eq!(config(&env), before);
}

#[test]
fn generated_profiles_work_with_stsenv_the_aws_cli_and_boto3() {
    let (env, _sso) = env_with(Portal {
        accounts: accounts(),
        ..Portal::default()
    });
    assert!(env.stsenv(&["sso", "sync"]).status.success());
    // The AWS CLI reads them.
    let out = env
        .command("aws")
        .args([
            "configure",
            "get",
            "sso_account_id",
            "--profile",
            "M-ller.Ops",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "444444444444",
        "{}",
        stderr(&out)
    );
    // boto3 gets credentials for each.
    let script = "import boto3\nfor p in ['prod.ReadOnly', 'M-ller.Ops']:\n    print(boto3.Session(profile_name=p).get_credentials().get_frozen_credentials().access_key)";
    let out = env
        .command("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ASIAPORTALREADONLY\nASIAPORTALOPS",
        "{}",
        stderr(&out)
    );
    // stsenv assumes them, and one works as a source_profile.
    let out = env.stsenv(&["assume", "prod.ReadOnly", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIAPORTALREADONLY"));
    let mut text = config(&env);
    text.push_str(&format!(
        "\n[profile deploy]\nrole_arn = {}\nsource_profile = M-ller.Ops\n",
        role_arn("deploy")
    ));
    env.write(".aws/config", &text);
    let sts = FakeSts::numbered(3600);
    let out = env.assume_at("deploy", &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sts.calls("AssumeRole")[0]
        .authorization
        .contains("Credential=ASIAPORTALOPS/"));
}

#[test]
fn a_failing_account_is_named_and_keeps_its_profiles() {
    let (env, sso) = env_with(Portal {
        accounts: accounts(),
        ..Portal::default()
    });
    assert!(env.stsenv(&["sso", "sync"]).status.success());
    let mut portal = Portal {
        accounts: accounts(),
        failing: Some("444444444444".into()),
        ..Portal::default()
    };
    // prod loses its ReadOnly role, and account 444 can't be listed.
    portal.accounts[0].2 = vec!["Admin".into()];
    sso.set_portal(portal);
    let out = env.stsenv(&["sso", "sync", "--prune"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("Müller (444444444444)"), "{err}");
    assert_eq!(
        err.lines().last().unwrap_or("").matches("stsenv:").count(),
        1
    );
    let text = config(&env);
    assert!(
        text.contains("[profile M-ller.Ops]"),
        "kept despite --prune:\n{text}"
    );
    assert!(!text.contains("[profile prod.ReadOnly]"), "pruned:\n{text}");
    assert!(text.contains("[profile Dev-Team-222222222222.Admin]"));
}

#[test]
fn stale_prune_dry_run_hand_edits_and_other_sessions() {
    let (env, sso) = env_with(Portal {
        accounts: accounts(),
        ..Portal::default()
    });
    assert!(env.stsenv(&["sso", "sync"]).status.success());
    // A hand edit inside a generated section, and a section of another session.
    let text = config(&env).replace(
        "[profile M-ller.Ops]\nsso_session = corp",
        "[profile M-ller.Ops]\noutput = json\nsso_session = corp",
    ) + "\n[profile other.Admin]\nsso_session = other\nstsenv_generated_from = other\n";
    env.write(".aws/config", &text);
    let mut portal = Portal {
        accounts: accounts(),
        ..Portal::default()
    };
    portal.accounts.remove(1);
    sso.set_portal(portal);
    // Dry run: says what would change, writes nothing.
    let out = env.stsenv(&["sso", "sync", "--dry-run", "--prune"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        plan.contains("would change  [profile M-ller.Ops]"),
        "{plan}"
    );
    assert!(
        plan.contains("would remove  [profile Dev-Team-222222222222.Admin]"),
        "{plan}"
    );
    assert_eq!(config(&env), text);
    // Without --prune the gone role is stale and kept; the hand edit is undone.
    let out = env.stsenv(&["sso", "sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    let now = config(&env);
    assert!(now.contains("[profile Dev-Team-222222222222.Admin]"));
    assert!(!now.contains("output = json"), "{now}");
    assert!(
        now.contains("[profile other.Admin]\nsso_session = other\nstsenv_generated_from = other\n")
    );
    // Only the name clash is gone from the account names now: 333 is "Dev-Team" alone.
    assert!(now.contains("[profile Dev-Team.Admin]"), "{now}");
    let out = env.stsenv(&["sso", "sync", "--prune"]);
    assert!(out.status.success());
    assert!(!config(&env).contains("Dev-Team-222222222222"));
}

#[test]
fn templates_regions_sessions_and_signing_in() {
    let (env, _sso) = env_with(Portal {
        accounts: accounts()[..1].to_vec(),
        ..Portal::default()
    });
    let out = env.stsenv(&[
        "sso",
        "sync",
        "--name-template",
        "{session}-{account_id}-{role_name}",
        "--region",
        "ap-south-1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = config(&env);
    assert!(text.contains("[profile corp-111111111111-ReadOnly]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = ap-south-1\n"), "{text}");
    let out = env.stsenv(&["sso", "sync", "--name-template", "{account}"]);
    assert!(assert_clean_failure_plain(&out).contains("{account}"));
    // Several sessions, none named.
    env.write(
        ".aws/config",
        &(user_config()
            + "[sso-session other]\nsso_start_url = https://x\nsso_region = us-east-1\n"),
    );
    let err = assert_clean_failure_plain(&env.stsenv(&["sso", "sync"]));
    assert!(
        err.contains("corp, other") || err.contains("other, corp"),
        "{err}"
    );
    // No token, nobody at a terminal: the one line that says what to run.
    std::fs::remove_file(env.home().join(TOKEN_FILE)).unwrap();
    let err = assert_clean_failure_plain(&env.stsenv(&["sso", "sync", "corp"]));
    assert!(
        err.contains("run: stsenv login --sso-session corp"),
        "{err}"
    );
}

#[test]
fn a_symlinked_config_is_followed_and_keeps_its_mode() {
    let (env, _sso) = env_with(Portal {
        accounts: accounts()[..1].to_vec(),
        ..Portal::default()
    });
    let real = env.home().join("dotfiles-config");
    std::fs::rename(env.home().join(".aws/config"), &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&real, env.home().join(".aws/config")).unwrap();
    let out = env.stsenv(&["sso", "sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(env.home().join(".aws/config"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("[profile prod.ReadOnly]"));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

/// A failure of a command that prints no statements: non-zero, nothing on stdout, one line.
fn assert_clean_failure_plain(o: &std::process::Output) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "{err}");
    assert_eq!(stdout(o), "");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// Security round 3, G1: a hostile portal (or a proxy in the middle) answers with role names
/// and account ids that would inject sections and keys into ~/.aws/config. Each is named on
/// one line and skipped, the run fails, the valid roles are still written, nothing else of
/// the file changes, and the AWS CLI still reads it.
#[test]
fn hostile_portal_values_are_named_and_skipped_never_written() {
    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (env, _sso) = env_with(Portal {
        accounts: vec![
            (
                "111111111111".into(),
                "prod".into(),
                roles(&[
                    "Admin]\n[default]\ncredential_process = sh -c 'touch /tmp/stsenv-pwned'\n#",
                    "ReadOnly",
                ]),
            ),
            ("2222222222\n22".into(), "evil".into(), roles(&["Admin"])),
            (
                "333333333333".into(),
                "Dev\nTeam\u{1b}]0;x\u{7}".into(),
                roles(&[
                    "Ops\r\nsso_start_url = https://evil.example",
                    "Ops\u{2028}x",
                    "Lone\rcr",
                    "Fine",
                ]),
            ),
        ],
        ..Portal::default()
    });
    let out = env.stsenv(&["sso", "sync"]);
    assert!(!out.status.success(), "a skipped value fails the run");
    let err = stderr(&out);
    let skipped: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("warning: skipped"))
        .collect();
    assert_eq!(skipped.len(), 5, "{err}");
    assert!(
        skipped
            .iter()
            .any(|l| l.contains("account 2222222222 22 (evil)")),
        "{err}"
    );
    assert!(
        skipped
            .iter()
            .filter(|l| l.contains("account 333333333333 (Dev-Team--0-x-)"))
            .count()
            == 3,
        "{err}"
    );
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    let text = config(&env);
    assert!(text.starts_with(&user_config()), "{text}");
    assert!(text.contains("[profile prod.ReadOnly]\n"), "{text}");
    assert!(text.contains("[profile Dev-Team--0-x-.Fine]\n"), "{text}");
    for bad in [
        "credential_process",
        "evil.example",
        "[default]\nsso",
        "Lone",
        "\r",
        "\u{2028}",
    ] {
        assert!(!text.contains(bad), "{bad:?} reached the file:\n{text}");
    }
    assert_eq!(text.matches("[default]").count(), 1);
    let out = env
        .command("aws")
        .args([
            "configure",
            "get",
            "sso_role_name",
            "--profile",
            "prod.ReadOnly",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "ReadOnly",
        "the AWS CLI can't read it: {}",
        stderr(&out)
    );
}

/// Security round 3, G6: `--dry-run` names sections of the file as they are, with their
/// escape sequences shown, never played on the terminal.
#[test]
fn dry_run_shows_escape_sequences_escaped() {
    let (env, _sso) = env_with(Portal {
        accounts: accounts()[..1].to_vec(),
        ..Portal::default()
    });
    let text = config(&env)
        + "\n[profile gone\u{1b}c\u{7}.Admin]\nsso_session = corp\nstsenv_generated_from = corp\n";
    env.write(".aws/config", &text);
    let out = env.stsenv(&["sso", "sync", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        !plan.contains('\u{1b}') && !plan.contains('\u{7}'),
        "{plan:?}"
    );
    assert!(
        plan.contains("stale         [profile gone\\u{1b}c\\u{7}.Admin]"),
        "{plan}"
    );
}
