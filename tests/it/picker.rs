//! `stsenv assume` with no target on a terminal: the fuzzy picker, driven through tmux, under
//! eval and through the bash and zsh hooks; stdout carries only the statements.

use crate::common::fake_sts::FakeSts;
use crate::common::tty::Tmux;
use crate::common::*;

fn env_for(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile dev-admin]\nrole_arn = {}\nsource_profile = base\n\n[profile prod-readonly]\nrole_arn = {}\nsource_profile = base\n\n[profile payments-prod]\nrole_arn = arn:aws:iam::333333333333:role/PowerUser\nsource_profile = base\n",
        role_arn("Admin"),
        role_arn("ReadOnly")
    ));
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

#[test]
fn pick_by_typing_under_eval() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let script = format!(
        "eval \"$('{BIN}' assume -s bash)\" && printf 'PICKED=%s KEY=%s\\n' \"$STSENV_PROFILE\" \"$AWS_ACCESS_KEY_ID\""
    );
    let tty = Tmux::run(&env, &["bash", "-c", &script]);
    let screen = tty.wait_for("assume>", 1);
    for name in ["dev-admin", "prod-readonly", "payments-prod", "base"] {
        assert!(screen.contains(name), "{name} not listed:\n{screen}");
    }
    assert!(
        screen.contains("333333333333") && screen.contains("PowerUser"),
        "{screen}"
    );
    tty.send_keys_literal("PAY pow");
    tty.wait_for("1/4", 1);
    tty.send_key("Enter");
    let (rc, out, err) = tty.finish();
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out, "PICKED=payments-prod KEY=AssumeRole0\n");
    assert_eq!(
        sts.calls("AssumeRole")[0].param("RoleArn"),
        Some("arn:aws:iam::333333333333:role/PowerUser")
    );
}

#[test]
fn arrows_choose_and_the_last_profile_comes_first_with_its_cache() {
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts);
    assert!(env
        .stsenv(&["assume", "prod-readonly", "-s", "bash"])
        .status
        .success());
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&env.stsenv(&["profiles", "--json"]))).unwrap();
    let row = |n: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()
            .clone()
    };
    assert!(row("prod-readonly")["credentials_expire"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(row("prod-readonly")["account_id"], "123456789012");
    assert_eq!(row("prod-readonly")["role_name"], "ReadOnly");
    assert_eq!(row("prod-readonly")["source"], "base");
    assert_eq!(
        row("dev-admin")["credentials_expire"],
        serde_json::Value::Null
    );
    env.set("STSENV_PROFILE", "prod-readonly");
    let tty = Tmux::run(&env, &[BIN, "assume", "-s", "bash"]);
    // The status column comes a moment after the first frame.
    let screen = tty.wait_for("cached", 1);
    let listed: Vec<&str> = screen
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        listed[0].contains("prod-readonly") && listed[0].contains("cached"),
        "{screen}"
    );
    // The rest in the files' order: the config's, then the credentials file's.
    let rest: Vec<&str> = listed[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(rest, ["dev-admin", "payments-prod", "base"], "{screen}");
    tty.send_key("Down");
    tty.send_key("Enter");
    let (rc, out, _) = tty.finish();
    assert_eq!(rc, 0);
    assert!(out.contains("export STSENV_PROFILE='dev-admin'"), "{out}");
}

/// The picker learns: profiles assumed often and lately come first (zoxide's frecency),
/// ties in the files' order; the counts are kept private in stsenv's data folder.
#[test]
fn the_most_used_profiles_come_first() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for target in [
        "payments-prod",
        "payments-prod",
        "payments-prod",
        "base",
        "base",
    ] {
        let out = env.stsenv(&["assume", target, "-s", "bash"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let exec = env.stsenv(&["exec", "prod-readonly", "--", "true"]);
    assert!(exec.status.success(), "{}", stderr(&exec));
    let tty = Tmux::run(&env, &[BIN, "assume", "-s", "bash"]);
    let screen = tty.wait_for("assume>", 1);
    let order: Vec<&str> = screen
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim_start_matches(['>', ' '])
                .split_whitespace()
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        order,
        ["payments-prod", "base", "prod-readonly", "dev-admin"],
        "{screen}"
    );
    // Typing still filters by fuzzy match: the best match first, whatever the counts.
    tty.send_keys_literal("prod-r");
    tty.wait_for("1/4", 1);
    tty.send_key("Enter");
    let (rc, out, _) = tty.finish();
    assert_eq!(rc, 0);
    assert!(
        out.contains("export STSENV_PROFILE='prod-readonly'"),
        "{out}"
    );
    let file = env.home().join(".local/share/stsenv/frecency");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn esc_and_ctrl_c_cancel_with_false() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for key in ["Escape", "C-c"] {
        let tty = Tmux::run(&env, &[BIN, "assume", "-s", "bash"]);
        tty.wait_for("assume>", 1);
        tty.send_key(key);
        let (rc, out, err) = tty.finish();
        assert_ne!(rc, 0, "{key}");
        assert_eq!(out, "false\n", "{key}");
        assert!(err.contains("no profile picked"), "{key}: {err}");
        assert!(sts.requests().is_empty());
    }
}

#[test]
fn the_hooks_assume_with_no_argument_opens_the_picker() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for (shell, args) in [
        ("bash", vec!["bash", "--norc", "--noprofile", "-i"]),
        ("zsh", vec!["zsh", "-f", "-i"]),
    ] {
        require(shell, &format!("apt-get install {shell}"));
        let tty = Tmux::interactive(&env, &args);
        std::thread::sleep(std::time::Duration::from_millis(300));
        tty.type_line(&format!("eval \"$('{BIN}' init {shell})\""));
        tty.type_line("assume; echo \"PICKED-$STSENV_PROFILE\"");
        tty.wait_for("assume>", 1);
        tty.send_keys_literal("dev-adm");
        tty.wait_for("1/4", 1);
        tty.send_key("Enter");
        tty.wait_for("PICKED-dev-admin", 1);
    }
}

#[test]
fn no_input_and_no_terminal_keep_the_one_line_error() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let out = env.stsenv(&["assume", "-s", "bash"]);
    let err = assert_clean_failure(&out, &[]);
    assert!(err.contains("TARGET"), "{err}");
    let tty = Tmux::run(&env, &[BIN, "assume", "--no-input", "-s", "bash"]);
    let (rc, out, err) = tty.finish();
    assert_ne!(rc, 0);
    assert_eq!(out, "false\n");
    assert!(err.contains("TARGET"), "{err}");
    let mut ci = env;
    ci.set("CI", "true");
    let tty = Tmux::run(&ci, &[BIN, "assume", "-s", "bash"]);
    let (rc, _, err) = tty.finish();
    assert_ne!(rc, 0);
    assert!(err.contains("TARGET"), "{err}");
}

/// Security round 3, G6: a shared config's values (role_arn, sso_account_id, sso_role_name)
/// reach the picker and the `profiles` table with their escape sequences shown, never played:
/// no cleared screen, no title set, no look-alike name.
#[test]
fn escape_sequences_in_the_config_are_shown_not_played() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let mut text = std::fs::read_to_string(env.home().join(".aws/config")).unwrap();
    text.push_str(
        "\n[profile evil]\nsso_session = corp\nsso_account_id = 1111\u{1b}[2J\u{1b}]0;pwned\u{7}\nsso_role_name = Admin\u{1b}[31m\n\n\
         [profile evil-role]\nrole_arn = arn:aws:iam::123456789012:role/x\u{1b}]52;c;cHduZWQ=\u{7}\nsource_profile = base\n\n\
         [sso-session corp]\nsso_start_url = https://d-123.awsapps.com/start\nsso_region = us-east-1\n",
    );
    env.write(".aws/config", &text);
    let table = stdout(&env.stsenv(&["profiles"]));
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.contains("\\u{1b}]52;c;cHduZWQ="), "{table}");
    let tty = Tmux::run(&env, &[BIN, "assume", "-s", "bash"]);
    let screen = tty.wait_for("assume>", 1);
    assert!(
        screen.contains("1111\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"),
        "{screen}"
    );
    assert!(screen.contains("Admin\\u{1b}[31m"), "{screen}");
    assert!(
        screen.contains("dev-admin"),
        "the screen was not cleared:\n{screen}"
    );
    tty.send_key("Escape");
    let (rc, _, _) = tty.finish();
    assert_ne!(rc, 0);
}
