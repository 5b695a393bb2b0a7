//! `stsenv keys`: long-term keys in a real Secret Service (gnome-keyring on a private bus,
//! read back with secret-tool as a user would), the AWS files edited byte for byte, the
//! engine and the real AWS CLI using the keys through credential_process, and rotate against
//! a moto with IAM authentication on, with a failure injected at each step.

use std::process::Output;

use crate::common::fake_http::{FakeHttp, HttpResponse};
use crate::common::fake_sts::FakeSts;
use crate::common::keyring::{self, KeyringSession, Mode};
use crate::common::moto_iam::moto_iam;
use crate::common::tty::Tmux;
use crate::common::*;

const ID: &str = "AKIAKEYRINGEXAMPLE01";
const SECRET: &str = "keyringSecret/0123456789abcdefghijklmnopq";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

fn bin() -> String {
    std::fs::canonicalize(BIN).unwrap().display().to_string()
}

/// The credential_process line `keys add` writes when `stsenv` on PATH is not this binary.
fn line_for(profile: &str) -> String {
    format!("credential_process = {} keys export {profile}\n", bin())
}

fn keyring_env(mode: Mode) -> (TestEnv, KeyringSession) {
    let mut env = TestEnv::new();
    let session = KeyringSession::start(&mut env, mode);
    (env, session)
}

/// `stsenv keys ARGS` with the keys in the environment of this one run.
fn with_keys(env: &TestEnv, id: &str, secret: &str, args: &[&str]) -> Output {
    register_secret(secret);
    let out = env
        .command(BIN)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args(args)
        .output()
        .unwrap();
    assert_no_secrets(&stderr(&out));
    out
}

fn add(env: &TestEnv, profile: &str, id: &str, secret: &str) {
    let out = with_keys(env, id, secret, &["keys", "add", profile, "--from-env"]);
    assert!(out.status.success(), "keys add: {}", stderr(&out));
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o)
}

/// A failure of a command whose output is not eval'd: non-zero, nothing on stdout, one
/// line on stderr.
fn one_line_failure(o: &Output) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure; stderr: {err}");
    assert_eq!(stdout(o), "", "stdout must be empty; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr must be one line: {err:?}");
    assert!(err.starts_with("stsenv: "), "{err}");
    err
}

fn read(env: &TestEnv, rel: &str) -> String {
    std::fs::read_to_string(env.home().join(rel)).unwrap_or_default()
}

const CONFIG: &str = "# my settings\n[default]\nregion = eu-west-1\n\n# work things\n[profile work]\nregion = us-west-2\noutput = json\n";

#[test]
fn add_stores_one_item_that_secret_tool_finds_and_gives_the_profile_its_line() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    env.write(".aws/config", CONFIG);
    add(&env, "alice", ID, SECRET);
    let item = keyring::lookup(&env, "alice").expect("secret-tool finds the item");
    let v: serde_json::Value = serde_json::from_str(&item).unwrap();
    assert_eq!(v["AccessKeyId"], ID);
    assert_eq!(v["SecretAccessKey"], SECRET);
    let all = keyring::search(&env);
    assert!(
        all.contains("label = stsenv: AWS access key of profile alice")
            && all.contains("attribute.service = stsenv")
            && all.contains("attribute.username = alice"),
        "{all}"
    );
    assert_eq!(
        read(&env, ".aws/config"),
        format!("{CONFIG}\n[profile alice]\n{}", line_for("alice")),
        "only the new section is added"
    );
    // export: the credential_process answer.
    let out = env.stsenv(&["keys", "export", "alice"]);
    let doc: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], ID);
    assert_eq!(doc["SecretAccessKey"], SECRET);
    assert!(doc.get("Expiration").is_none() && doc.get("SessionToken").is_none());
    assert_eq!(stderr(&out), "");
    // Adding to an existing section keeps it, and adding again changes nothing.
    add(
        &env,
        "work",
        "AKIAWORKEXAMPLE00001",
        "workSecret/123456789012345678901234567",
    );
    let expected = format!(
        "# my settings\n[default]\nregion = eu-west-1\n\n# work things\n[profile work]\nregion = us-west-2\noutput = json\n{}\n[profile alice]\n{}",
        line_for("work"),
        line_for("alice")
    );
    assert_eq!(read(&env, ".aws/config"), expected);
    add(
        &env,
        "work",
        "AKIAWORKEXAMPLE00002",
        "workSecret/223456789012345678901234567",
    );
    assert_eq!(read(&env, ".aws/config"), expected);
    assert_eq!(
        keyring::stored(&env, "work").unwrap().0,
        "AKIAWORKEXAMPLE00002"
    );
    keyring::assert_in_no_file(&env, SECRET);
    keyring::assert_in_no_file(&env, "workSecret/223456789012345678901234567");
}

#[test]
fn the_line_says_stsenv_when_path_finds_this_binary_and_its_path_otherwise() {
    let (mut env, _kr) = keyring_env(Mode::Unlocked);
    let dir = std::path::Path::new(&bin())
        .parent()
        .unwrap()
        .display()
        .to_string();
    let path = env
        .vars
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap();
    env.set("PATH", &format!("{dir}:{path}"));
    add(&env, "alice", ID, SECRET);
    assert_eq!(
        read(&env, ".aws/config"),
        "[profile alice]\ncredential_process = stsenv keys export alice\n"
    );
    // Another stsenv first on PATH: the line names this one by its path.
    env.write_executable("bin/stsenv", "#!/bin/sh\nexit 1\n");
    env.set(
        "PATH",
        &format!("{}/bin:{dir}:{path}", env.home().display()),
    );
    add(&env, "bob", ID, SECRET);
    assert!(
        read(&env, ".aws/config").ends_with(&format!("[profile bob]\n{}", line_for("bob"))),
        "{}",
        read(&env, ".aws/config")
    );
}

#[test]
fn add_asks_on_the_terminal_and_never_shows_the_secret() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    register_secret(SECRET);
    // The pane stays open after stsenv ends (the shell waits for a line), so the screen
    // can be read as the user saw it.
    let script = "\"$0\" keys add alice; rc=$?; read _; exit $rc";
    let t = Tmux::run(&env, &["sh", "-c", script, BIN]);
    t.wait_for("AWS access key id for profile alice:", 1);
    t.type_line(ID);
    t.wait_for("AWS secret access key (not shown):", 1);
    t.type_line(SECRET);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while keyring::lookup(&env, "alice").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing stored; screen:\n{}",
            t.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let screen = t.screen();
    t.type_line("");
    let (rc, out, err) = t.finish();
    assert_eq!(rc, 0, "{err}\n{screen}");
    assert_eq!(out, "");
    assert!(
        screen.contains(ID),
        "the key id is shown as typed: {screen}"
    );
    assert!(!screen.contains(SECRET), "the secret was shown: {screen}");
    assert!(!screen.contains("keyringSecret"), "{screen}");
    assert_eq!(
        keyring::stored(&env, "alice"),
        Some((ID.to_string(), SECRET.to_string()))
    );
    drop(t);
    // Ctrl-C at the secret prompt: nothing stored, and the terminal echoes again.
    let stty = env.home().join("stty.out");
    let script = format!("\"$0\" keys add bob; stty -a > '{}'", stty.display());
    let t = Tmux::run(&env, &["sh", "-c", &script, BIN]);
    t.wait_for("AWS access key id for profile bob:", 1);
    t.type_line(ID);
    t.wait_for("(not shown):", 1);
    t.send_keys_literal("half-typed");
    t.send_key("C-c");
    let (_, _, err) = t.finish();
    assert!(err.contains("cancelled"), "{err}");
    let modes = std::fs::read_to_string(&stty).unwrap();
    assert!(
        modes.split_whitespace().any(|w| w == "echo")
            && modes.split_whitespace().any(|w| w == "icanon"),
        "the terminal was left without echo: {modes}"
    );
    assert_eq!(keyring::lookup(&env, "bob"), None);
    // Without a terminal: one line, at once.
    let err = one_line_failure(&env.stsenv(&["keys", "add", "carol"]));
    assert!(
        err.contains("no terminal") && err.contains("--from-env"),
        "{err}"
    );
}

#[test]
fn bad_keys_are_refused_before_anything_is_stored_and_never_shown() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    // A secret pasted where the key id goes is refused without being echoed.
    let out = with_keys(
        &env,
        SECRET,
        SECRET,
        &["keys", "add", "alice", "--from-env"],
    );
    let err = one_line_failure(&out);
    assert!(!err.contains("keyringSecret"), "{err}");
    let out = with_keys(
        &env,
        "ASIATEMPORARYEXAMPL1",
        SECRET,
        &["keys", "add", "alice", "--from-env"],
    );
    assert!(one_line_failure(&out).contains("temporary"));
    let out = env
        .command(BIN)
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", "a-session-token")
        .args(["keys", "add", "alice", "--from-env"])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("AWS_SESSION_TOKEN"));
    assert_eq!(keyring::lookup(&env, "alice"), None);
    assert_eq!(read(&env, ".aws/config"), "");
    // A profile that gets its credentials otherwise is left alone.
    let config = "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = r\n[profile tool]\ncredential_process = my-tool --json\n";
    env.write(".aws/config", config);
    for p in ["sso", "tool"] {
        let out = with_keys(&env, ID, SECRET, &["keys", "add", p, "--from-env"]);
        one_line_failure(&out);
        assert_eq!(keyring::lookup(&env, p), None);
    }
    assert_eq!(read(&env, ".aws/config"), config);
}

#[test]
fn a_role_from_keyring_keys_is_assumed_reading_the_keyring_in_process_with_mfa_as_before() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    let mut env = env;
    add(&env, "alice", ID, SECRET);
    add(
        &env,
        "bob",
        "AKIABOBEXAMPLE000001",
        "bobSecret/0123456789abcdefghijklmnopqrs",
    );
    // A binary named stsenv that says when it is started: the engine must not start it.
    let wrapper = env.write_executable(
        "bin/stsenv",
        &format!(
            "#!/bin/sh\ntouch \"$HOME/started\"\nexec '{}' \"$@\"\n",
            bin()
        ),
    );
    let w = wrapper.display();
    env.write(
        ".aws/config",
        &format!(
            "[profile alice]\ncredential_process = {w} keys export alice\n\
             [profile bob]\ncredential_process = {w} keys export bob\nmfa_serial = {SERIAL}\n\
             [profile dev]\nrole_arn = {}\nsource_profile = alice\n\
             [profile dev-mfa]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {SERIAL}\n\
             [profile ops-mfa]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {SERIAL}\n",
            role_arn("dev"),
            role_arn("dev-mfa"),
            role_arn("ops")
        ),
    );
    let sts = FakeSts::numbered(3600);
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env.set("AWS_REGION", "us-east-1");
    let signed_by = |r: &crate::common::fake_sts::Request| {
        r.authorization
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_string()
    };

    let out = ok(&env.stsenv(&["assume", "dev", "-s", "bash"]));
    assert!(out.contains(&role_arn("dev")), "{out}");
    let calls = sts.calls("AssumeRole");
    assert_eq!(signed_by(&calls[0]), ID, "signed with the keyring's key");

    // MFA: one MFA session from the keyring's keys, for every role behind them.
    ok(&env.stsenv(&["assume", "dev-mfa", "--token-code", "123456", "-s", "bash"]));
    let sessions = sts.calls("GetSessionToken");
    assert_eq!(sessions.len(), 1);
    assert_eq!(signed_by(&sessions[0]), ID);
    assert_eq!(sessions[0].param("SerialNumber"), Some(SERIAL));
    assert_eq!(sessions[0].param("TokenCode"), Some("123456"));
    let calls = sts.calls("AssumeRole");
    assert!(
        signed_by(&calls[1]).starts_with("GetSessionToken"),
        "the role is assumed with the MFA session"
    );
    assert_eq!(calls[1].param("TokenCode"), None);
    ok(&env.stsenv(&["assume", "ops-mfa", "-s", "bash"]));
    assert_eq!(
        sts.calls("GetSessionToken").len(),
        1,
        "no second MFA session"
    );

    // A profile of keyring keys with mfa_serial and no role is exported as an MFA session.
    let out = ok(&env.stsenv(&["assume", "bob", "--token-code", "654321", "-s", "bash"]));
    assert!(out.contains("export AWS_SESSION_TOKEN='TOKEN"), "{out}");
    let sessions = sts.calls("GetSessionToken");
    assert_eq!(signed_by(&sessions[1]), "AKIABOBEXAMPLE000001");

    // The keys profile itself, as it is: exported without any request.
    let out = ok(&env.stsenv(&["assume", "alice", "-s", "bash"]));
    assert!(
        out.contains(&format!("export AWS_ACCESS_KEY_ID='{ID}'")),
        "{out}"
    );
    assert!(!out.contains("AWS_SESSION_TOKEN='"), "{out}");
    assert!(
        !env.home().join("started").exists(),
        "stsenv started itself for its own credential_process"
    );
    // The keys go nowhere but the keyring (and the shell's stdout when that is the job).
    keyring::assert_in_no_file(&env, SECRET);
    // Without keys in the keyring: one line naming the profile.
    env.write(
        ".aws/config",
        &format!(
            "[profile nobody]\ncredential_process = stsenv keys export nobody\n[profile r]\nrole_arn = {}\nsource_profile = nobody\n",
            role_arn("r")
        ),
    );
    let err = assert_clean_failure(&env.stsenv(&["assume", "r", "-s", "bash"]), &[]);
    assert!(err.contains("stsenv keys add nobody"), "{err}");
}

#[test]
fn the_aws_cli_signs_with_the_keyring_key_through_credential_process() {
    require("aws", "pip install awscli");
    let moto = moto_iam();
    let key = moto.user("kr-cli-carol", &[]);
    let (mut env, _kr) = keyring_env(Mode::Unlocked);
    add(&env, "carol", &key.0, &key.1);
    env.set("AWS_ENDPOINT_URL", &moto.url);
    env.set("AWS_DEFAULT_REGION", "us-east-1");
    let out = env
        .command("aws")
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "carol",
            "--query",
            "Arn",
            "--output",
            "text",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "aws: {}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "arn:aws:iam::123456789012:user/kr-cli-carol"
    );
    // And a wrong secret in the keyring is refused: the CLI really uses the keyring's.
    add(
        &env,
        "carol",
        &key.0,
        "wrongSecret/0123456789abcdefghijklmnopqrst",
    );
    let out = env
        .command("aws")
        .args(["sts", "get-caller-identity", "--profile", "carol"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("SignatureDoesNotMatch"),
        "{}",
        stderr(&out)
    );
}

const CREDENTIALS: &str = "# my keys, keep this comment\n[default]\naws_access_key_id = AKIADEFAULTEXAMPLE01\naws_secret_access_key = defaultSecret/00000000000000000000000000\nregion = eu-west-1\n\n; work\n[work]\n# the work account\naws_access_key_id=AKIAWORKEXAMPLE00001\noutput = json\naws_secret_access_key   =   workSecret+11111111111111111111111111111\naws_session_token = stale-token-value-000\n  continued-token-line\n\n[temp]\naws_access_key_id = ASIATEMPEXAMPLE00001\naws_secret_access_key = tempSecret/222222222222222222222\naws_session_token = tok\n";

fn import_env(mode: Mode) -> (TestEnv, KeyringSession) {
    let (env, kr) = keyring_env(mode);
    for s in [
        "defaultSecret/00000000000000000000000000",
        "workSecret+11111111111111111111111111111",
        "tempSecret/222222222222222222222",
        "stale-token-value-000",
    ] {
        register_secret(s);
    }
    env.write(".aws/credentials", CREDENTIALS);
    env.write(".aws/config", CONFIG);
    (env, kr)
}

#[test]
fn import_moves_the_keys_and_keeps_every_other_byte_of_both_files() {
    let (env, _kr) = import_env(Mode::Unlocked);
    let out = env.stsenv(&["keys", "import", "work"]);
    ok(&out);
    assert_eq!(
        keyring::stored(&env, "work"),
        Some((
            "AKIAWORKEXAMPLE00001".into(),
            "workSecret+11111111111111111111111111111".into()
        ))
    );
    assert_eq!(
        read(&env, ".aws/credentials"),
        "# my keys, keep this comment\n[default]\naws_access_key_id = AKIADEFAULTEXAMPLE01\naws_secret_access_key = defaultSecret/00000000000000000000000000\nregion = eu-west-1\n\n; work\n[work]\n# the work account\noutput = json\n\n[temp]\naws_access_key_id = ASIATEMPEXAMPLE00001\naws_secret_access_key = tempSecret/222222222222222222222\naws_session_token = tok\n"
    );
    assert_eq!(
        read(&env, ".aws/config"),
        format!("# my settings\n[default]\nregion = eu-west-1\n\n# work things\n[profile work]\nregion = us-west-2\noutput = json\n{}", line_for("work"))
    );
    keyring::assert_in_no_file(&env, "workSecret+11111111111111111111111111111");
    assert_no_partial_files(&env);
    // The rest with --all: the default profile too; the temporary keys stay where they are.
    ok(&env.stsenv(&["keys", "import", "--all"]));
    assert_eq!(
        keyring::stored(&env, "default").unwrap().0,
        "AKIADEFAULTEXAMPLE01"
    );
    assert_eq!(keyring::lookup(&env, "temp"), None);
    assert_eq!(
        read(&env, ".aws/credentials"),
        "# my keys, keep this comment\n[default]\nregion = eu-west-1\n\n; work\n[work]\n# the work account\noutput = json\n\n[temp]\naws_access_key_id = ASIATEMPEXAMPLE00001\naws_secret_access_key = tempSecret/222222222222222222222\naws_session_token = tok\n"
    );
    assert_eq!(
        read(&env, ".aws/config"),
        format!("# my settings\n[default]\nregion = eu-west-1\n{}\n# work things\n[profile work]\nregion = us-west-2\noutput = json\n{}", line_for("default"), line_for("work"))
    );
    // Temporary keys are refused by name.
    let err = one_line_failure(&env.stsenv(&["keys", "import", "temp"]));
    assert!(err.contains("temporary"), "{err}");
    // What the engine now reads for the profile is what was in the file.
    let out = ok(&env.stsenv(&["assume", "work", "-s", "bash"]));
    assert!(
        out.contains("export AWS_ACCESS_KEY_ID='AKIAWORKEXAMPLE00001'"),
        "{out}"
    );
}

#[test]
fn import_with_the_keyring_failing_leaves_both_files_exactly_as_they_were() {
    for mode in [Mode::Locked, Mode::NoSecretService] {
        let (env, _kr) = import_env(mode);
        for args in [
            &["keys", "import", "work"][..],
            &["keys", "import", "--all"],
        ] {
            let out = env.stsenv(args);
            let err = stderr(&out);
            assert!(!out.status.success(), "{err}");
            assert!(
                err.contains("locked") || err.contains("gnome-keyring"),
                "{err}"
            );
            if args.len() == 3 {
                one_line_failure(&out);
            }
            assert_eq!(read(&env, ".aws/credentials"), CREDENTIALS);
            assert_eq!(read(&env, ".aws/config"), CONFIG);
        }
        assert_no_partial_files(&env);
    }
}

#[test]
fn import_puts_the_config_back_when_the_credentials_file_cannot_be_written() {
    let (env, _kr) = import_env(Mode::Unlocked);
    // A folder where the credentials file's lock file goes: that edit fails, after the
    // keyring and the config have been written.
    std::fs::create_dir_all(env.home().join(".aws/.credentials.stsenv-lock")).unwrap();
    let err = one_line_failure(&env.stsenv(&["keys", "import", "work"]));
    assert!(err.contains("is as it was"), "{err}");
    assert_eq!(read(&env, ".aws/credentials"), CREDENTIALS);
    assert_eq!(read(&env, ".aws/config"), CONFIG);
}

#[test]
fn list_shows_profiles_and_key_ids_and_never_a_secret() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    add(&env, "alice", ID, SECRET);
    add(
        &env,
        "bob",
        "AKIABOBEXAMPLE000001",
        "bobSecret/0123456789abcdefghijklmnopqrs",
    );
    // An item no profile uses, one stsenv did not write, and a line with no item.
    keyring::store_raw(&env, "foreign", "not json at all");
    let mut config = read(&env, ".aws/config");
    config.push_str("[profile ghost]\ncredential_process = stsenv keys export ghost\n");
    config = config.replace(&format!("[profile bob]\n{}", line_for("bob")), "");
    env.write(".aws/config", &config);
    let out = ok(&env.stsenv(&["keys", "list"]));
    let rows: Vec<Vec<String>> = out
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect();
    assert_eq!(rows[0], ["PROFILE", "ACCESS KEY ID", "NOTE"], "{out}");
    assert_eq!(rows[1], ["alice", ID], "{out}");
    assert_eq!(
        rows[2],
        ["bob", "AKIABOBEXAMPLE000001", "no profile uses it"],
        "{out}"
    );
    assert_eq!(rows[3][0], "foreign");
    assert!(out.contains("not write"), "{out}");
    assert_eq!(rows[4][..2], ["ghost", "-"], "{out}");
    assert!(rows[4][2].contains("no keys"), "{out}");
    assert!(!out.contains("Secret") && !out.contains(SECRET), "{out}");
}

#[test]
fn remove_takes_the_item_and_only_a_line_of_stsenvs_own() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    env.write(".aws/config", CONFIG);
    add(&env, "alice", ID, SECRET);
    let out = env.stsenv(&["keys", "remove", "alice"]);
    ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains(ID) && err.contains("delete-access-key"),
        "{err}"
    );
    assert_eq!(keyring::lookup(&env, "alice"), None);
    assert_eq!(read(&env, ".aws/config"), CONFIG, "back to what it was");
    // A credential_process of another tool stays, though the item goes.
    let config = format!("{CONFIG}[profile tool]\ncredential_process = my-tool --json\n");
    env.write(".aws/config", &config);
    keyring::store_raw(
        &env,
        "tool",
        &format!(r#"{{"AccessKeyId":"{ID}","SecretAccessKey":"{SECRET}"}}"#),
    );
    let out = env.stsenv(&["keys", "remove", "tool"]);
    assert!(stderr(&out).contains("not stsenv's"), "{}", stderr(&out));
    ok(&out);
    assert_eq!(keyring::lookup(&env, "tool"), None);
    assert_eq!(read(&env, ".aws/config"), config);
    // Nothing left to remove.
    let err = one_line_failure(&env.stsenv(&["keys", "remove", "alice"]));
    assert!(err.contains("nothing to remove"), "{err}");
}

#[test]
fn no_secret_service_is_one_line_saying_what_to_do_and_nothing_changes() {
    // A bus with nothing providing the Secret Service.
    let (env, _kr) = keyring_env(Mode::NoSecretService);
    env.write(".aws/config", CONFIG);
    let out = with_keys(&env, ID, SECRET, &["keys", "add", "alice", "--from-env"]);
    let err = one_line_failure(&out);
    assert!(
        err.contains("Secret Service") && err.contains("gnome-keyring"),
        "{err}"
    );
    for args in [
        &["keys", "export", "alice"][..],
        &["keys", "list"],
        &["keys", "remove", "alice"],
    ] {
        let err = one_line_failure(&env.stsenv(args));
        assert!(err.contains("gnome-keyring"), "{args:?}: {err}");
    }
    assert_eq!(read(&env, ".aws/config"), CONFIG);
    // No session bus at all (a headless box).
    let mut env = TestEnv::new();
    env.write(".aws/config", CONFIG);
    std::fs::create_dir_all(env.home().join("run")).unwrap();
    let run = env.home().join("run").display().to_string();
    env.set("XDG_RUNTIME_DIR", &run);
    let out = with_keys(&env, ID, SECRET, &["keys", "add", "alice", "--from-env"]);
    let err = one_line_failure(&out);
    assert!(
        err.contains("D-Bus session bus") && err.contains("dbus-run-session"),
        "{err}"
    );
    assert_eq!(read(&env, ".aws/config"), CONFIG);
    // A locked collection whose prompt can't be shown.
    let (env, _kr) = keyring_env(Mode::Locked);
    let out = with_keys(&env, ID, SECRET, &["keys", "add", "alice", "--from-env"]);
    assert!(one_line_failure(&out).contains("locked"));
    assert_eq!(read(&env, ".aws/config"), "");
}

#[test]
fn an_item_stsenv_did_not_write_is_named_not_printed() {
    let (env, _kr) = keyring_env(Mode::Unlocked);
    keyring::store_raw(&env, "odd", "{\"something\": \"else-entirely-private\"}");
    let err = one_line_failure(&env.stsenv(&["keys", "export", "odd"]));
    assert!(
        err.contains("not one stsenv wrote") && !err.contains("private"),
        "{err}"
    );
}

// rotate

const ROTATE: [&str; 3] = [
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:ListAccessKeys",
];

/// An IAM user `user` in the moto with auth on, its first key added to the keyring as
/// profile `p`, and stsenv pointed at that moto.
fn rotate_env(user: &str, actions: &[&str]) -> (TestEnv, KeyringSession, (String, String)) {
    let moto = moto_iam();
    let key = moto.user(user, actions);
    let (mut env, kr) = keyring_env(Mode::Unlocked);
    add(&env, "p", &key.0, &key.1);
    env.set("AWS_ENDPOINT_URL", &moto.url);
    env.set("AWS_REGION", "us-east-1");
    (env, kr, key)
}

fn rotate(env: &TestEnv) -> Output {
    env.stsenv(&["keys", "rotate", "p"])
}

#[test]
fn rotate_makes_a_new_key_stores_and_checks_it_then_deletes_the_old() {
    let actions = [&ROTATE[..], &["sts:GetSessionToken"]].concat();
    let (env, _kr, old) = rotate_env("kr-rotate-ok", &actions);
    let moto = moto_iam();
    // An MFA session made with the old key, cached.
    ok(&env.stsenv(&[
        "assume",
        "p",
        "--mfa-serial",
        SERIAL,
        "--token-code",
        "123456",
        "-s",
        "bash",
    ]));
    let mfa = format!("p ({SERIAL})");
    assert!(ok(&env.stsenv(&["cache", "list"])).contains(&mfa));
    let out = rotate(&env);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let new = keyring::stored(&env, "p").unwrap();
    register_secret(&new.1);
    assert_no_secrets(&err);
    assert_ne!(new.0, old.0);
    let (keys, who) = moto.state("kr-rotate-ok", &[&new, &old]);
    assert_eq!(keys, vec![new.0.clone()]);
    assert_eq!(
        who,
        [
            "arn:aws:iam::123456789012:user/kr-rotate-ok",
            "refused: InvalidClientTokenId"
        ],
        "the new key works, the old one is refused"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&new.0) && err.contains(&old.0), "{err}");
    keyring::assert_in_no_file(&env, &new.1);
    assert!(
        !ok(&env.stsenv(&["cache", "list"])).contains(&mfa),
        "the MFA session of the old key is dropped"
    );
    // The profile works with the new key.
    let out = ok(&env.stsenv(&["keys", "export", "p"]));
    assert!(out.contains(&new.0));
}

#[test]
fn rotate_changes_nothing_when_iam_refuses_a_new_key() {
    let (env, _kr, old) = rotate_env("kr-rotate-limit", &ROTATE);
    let moto = moto_iam();
    let other = moto.another_key("kr-rotate-limit");
    let (before, _) = moto.state("kr-rotate-limit", &[]);
    let err = one_line_failure(&rotate(&env));
    assert!(
        err.contains("two access keys") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(keyring::stored(&env, "p").unwrap(), old);
    assert_eq!(moto.state("kr-rotate-limit", &[]).0, before);
    assert!(before.contains(&other.0));
}

#[test]
fn rotate_deletes_the_new_key_again_when_the_keyring_fails_to_store_it() {
    let (env, _kr, old) = rotate_env("kr-rotate-store", &ROTATE);
    let moto = moto_iam();
    // In front of IAM: forwards every request as it is (Host included: it is signed), and
    // locks the keyring once IAM has made the new key, so that storing it fails.
    let upstream: u16 = moto.url.rsplit(':').next().unwrap().parse().unwrap();
    let vars: Vec<(String, String)> = env.vars.clone();
    let proxy = FakeHttp::start(move |req, _| {
        let response = forward(upstream, req);
        if req.body_text().contains("Action=CreateAccessKey") {
            keyring::lock(&vars);
        }
        response
    });
    let mut env = env;
    env.set("AWS_ENDPOINT_URL_IAM", &proxy.url);
    let err = one_line_failure(&rotate(&env));
    assert!(
        err.contains("could not store the new key")
            && err.contains(&format!("still holds the old key {}", old.0))
            && err.contains("was deleted again"),
        "{err}"
    );
    let (keys, who) = moto.state("kr-rotate-store", &[&old]);
    assert_eq!(keys, vec![old.0.clone()]);
    assert!(who[0].ends_with("user/kr-rotate-store"), "{who:?}");
    keyring::unlock(&env);
    assert_eq!(
        keyring::stored(&env, "p").unwrap(),
        old,
        "the keyring keeps the old key"
    );
}

/// One request to 127.0.0.1:`port` as it came, and its answer.
fn forward(port: u16, req: &crate::common::fake_http::HttpRequest) -> HttpResponse {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if k != "connection" && k != "content-length" {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        req.body.len()
    ));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&req.body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "text/xml".into());
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), content_type)],
        body: raw[split + 4..].to_vec(),
    }
}

#[test]
fn rotate_puts_the_old_key_back_when_the_new_one_never_works() {
    let (mut env, _kr, old) = rotate_env("kr-rotate-check", &ROTATE);
    let moto = moto_iam();
    // STS refuses every connection, so the new key can never be checked; a short wait.
    env.set(
        "AWS_ENDPOINT_URL_STS",
        &format!("http://127.0.0.1:{}", crate::common::moto::free_port()),
    );
    env.set("STSENV_ROTATE_WAIT_MS", "300");
    let err = one_line_failure(&rotate(&env));
    assert!(
        err.contains("did not work") && err.contains(&format!("holds the old key {}", old.0)),
        "{err}"
    );
    assert!(err.contains("was deleted again"), "{err}");
    assert_eq!(keyring::stored(&env, "p").unwrap(), old);
    assert_eq!(moto.state("kr-rotate-check", &[]).0, vec![old.0.clone()]);
}

#[test]
fn rotate_keeps_the_new_key_and_says_so_when_the_old_one_cannot_be_deleted() {
    let (env, _kr, old) = rotate_env(
        "kr-rotate-delete",
        &["iam:CreateAccessKey", "iam:ListAccessKeys"],
    );
    let moto = moto_iam();
    let err = one_line_failure(&rotate(&env));
    let new = keyring::stored(&env, "p").unwrap();
    register_secret(&new.1);
    assert_no_secrets(&err);
    assert_ne!(new.0, old.0);
    let (keys, who) = moto.state("kr-rotate-delete", &[&new, &old]);
    let mut both = vec![old.0.clone(), new.0.clone()];
    both.sort();
    assert_eq!(keys, both, "both keys are still active");
    assert!(
        who.iter().all(|w| w.ends_with("user/kr-rotate-delete")),
        "{who:?}"
    );
    assert!(
        err.contains(&format!("holds the new key {}", new.0))
            && err.contains(&format!(
                "aws iam delete-access-key --access-key-id {}",
                old.0
            )),
        "{err}"
    );
}

/// What STS and IAM answer a key they don't know yet.
fn not_yet_known() -> HttpResponse {
    HttpResponse {
        status: 403,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>1</RequestId></ErrorResponse>".to_vec(),
    }
}

#[test]
fn rotate_waits_a_bounded_while_for_iam_to_know_the_new_key() {
    let (mut env, _kr, old) = rotate_env("kr-rotate-wait", &ROTATE);
    let moto = moto_iam();
    let upstream: u16 = moto.url.rsplit(':').next().unwrap().parse().unwrap();
    // In front of moto: the new key is refused twice by STS and once by IAM, as a key IAM
    // has not spread everywhere yet, then everything goes through.
    let calls = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
    let seen = calls.clone();
    let gate = FakeHttp::start(move |req, _| {
        let body = req.body_text();
        let mut c = seen.lock().unwrap();
        if body.contains("Action=GetCallerIdentity") {
            c.0 += 1;
            if c.0 <= 2 {
                return not_yet_known();
            }
        }
        if body.contains("Action=DeleteAccessKey") {
            c.1 += 1;
            if c.1 == 1 {
                return not_yet_known();
            }
        }
        forward(upstream, req)
    });
    env.set("AWS_ENDPOINT_URL", &gate.url);
    env.set("STSENV_ROTATE_WAIT_MS", "3000");
    let out = rotate(&env);
    assert!(out.status.success(), "{}", stderr(&out));
    let new = keyring::stored(&env, "p").unwrap();
    register_secret(&new.1);
    assert_eq!(
        *calls.lock().unwrap(),
        (3, 2),
        "tried again until it worked"
    );
    let (keys, who) = moto.state("kr-rotate-wait", &[&old]);
    assert_eq!(keys, vec![new.0.clone()]);
    assert_eq!(who, ["refused: InvalidClientTokenId"]);
}

#[test]
fn an_unlock_prompt_nobody_answers_cannot_hang_stsenv() {
    // A locked collection, and a display where gnome-keyring shows its unlock prompt: the
    // prompt waits for ever, stsenv only for its bound (shortened here).
    let (mut env, _kr) = keyring_env(Mode::Locked);
    let display = keyring::Display::start();
    display.for_prompts_of(&env);
    env.set("DISPLAY", &display.name);
    env.set("STSENV_KEYRING_TIMEOUT_MS", "700");
    env.write(".aws/config", CONFIG);
    let started = std::time::Instant::now();
    let out = with_keys(&env, ID, SECRET, &["keys", "add", "alice", "--from-env"]);
    let took = started.elapsed();
    let err = one_line_failure(&out);
    assert!(
        err.contains("did not answer within") && err.contains("unlock"),
        "{err}"
    );
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    assert_eq!(read(&env, ".aws/config"), CONFIG);
}
