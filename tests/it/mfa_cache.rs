//! MFA under eval and the credentials cache shared with the AWS CLI.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::fake_sts::FakeSts;
use crate::common::netfix::DefaultEndpoint;
use crate::common::tty::Tmux;
use crate::common::*;

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

/// As `env_for`, but STS is at its default address (through `DefaultEndpoint`): where the
/// cache's file names are botocore's, shared with the AWS CLI.
fn env_at_default(sts: &FakeSts, config: &str) -> (TestEnv, DefaultEndpoint) {
    let mut env = env_for(sts, config);
    let backend: u16 = sts.url.rsplit(':').next().unwrap().parse().unwrap();
    let net = DefaultEndpoint::start(backend);
    net.apply(&mut env);
    (env, net)
}

fn env_for(sts: &FakeSts, config: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(config);
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env.set("AWS_DEFAULT_REGION", "us-east-1");
    env
}

/// Profile `r`: a role behind the base keys that needs MFA and has no mfa_process.
fn mfa_profile() -> String {
    format!(
        "[profile r]\nrole_arn = {}\nsource_profile = base\nmfa_serial = {SERIAL}\n",
        role_arn("r")
    )
}

fn deploy_profile() -> String {
    format!(
        "[profile deploy]\nrole_arn = {}\nsource_profile = base\n",
        role_arn("deploy")
    )
}

fn assume_ok(env: &TestEnv, args: &[&str]) -> String {
    let out = env.stsenv(args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn exported(text: &str, name: &str) -> String {
    let prefix = format!("export {name}='");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name} in {text}"));
    let value = line[prefix.len()..].trim_end_matches(" &&");
    value[..value.len() - 1].to_string()
}

/// botocore's key, computed by Python itself.
fn python_key(args_json: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import json,hashlib,sys; print(hashlib.sha1(json.dumps(json.loads(sys.argv[1]), sort_keys=True).encode()).hexdigest())", args_json])
        .output()
        .expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn cli_cache(env: &TestEnv) -> PathBuf {
    env.home().join(".aws/cli/cache")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_second_assume_is_answered_from_the_aws_cli_cache() {
    let sts = FakeSts::numbered(3600);
    let (env, _net) = env_at_default(&sts, &deploy_profile());
    let first = assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    let second = assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(
        sts.calls("AssumeRole").len(),
        1,
        "the second assume must make no request"
    );
    assert_eq!(first, second);
    let key = python_key(&format!("{{\"RoleArn\": \"{}\"}}", role_arn("deploy")));
    let file = cli_cache(&env).join(format!("{key}.json"));
    assert!(file.exists(), "cache entry under botocore's key {key}");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&cli_cache(&env)), 0o700);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["Credentials"]["AccessKeyId"], "AssumeRole0");
}

#[test]
fn the_key_includes_what_the_profile_configures() {
    let sts = FakeSts::numbered(3600);
    let (env, _net) = env_at_default(
        &sts,
        &format!(
            "[profile ops]\nrole_arn = {}\nsource_profile = base\nrole_session_name = ops-session\nexternal_id = ext-9\nduration_seconds = 1800\n",
            role_arn("ops")
        ),
    );
    assume_ok(&env, &["assume", "ops", "-s", "bash"]);
    let key = python_key(&format!(
        "{{\"RoleArn\": \"{}\", \"RoleSessionName\": \"ops-session\", \"ExternalId\": \"ext-9\", \"DurationSeconds\": 1800}}",
        role_arn("ops")
    ));
    assert!(cli_cache(&env).join(format!("{key}.json")).exists());
}

#[test]
fn the_aws_cli_reuses_what_stsenv_got() {
    let sts = FakeSts::numbered(3600);
    let (env, _net) = env_at_default(&sts, &deploy_profile());
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    let arn = env.caller_arn(&[("AWS_PROFILE", "deploy".into())]);
    assert_eq!(
        sts.calls("AssumeRole").len(),
        1,
        "the CLI must not assume the role again"
    );
    assert!(
        arn.ends_with("/AssumeRole0"),
        "the CLI signed with stsenv's keys: {arn}"
    );
}

#[test]
fn stsenv_reuses_what_the_aws_cli_got() {
    let sts = FakeSts::numbered(3600);
    let (env, _net) = env_at_default(&sts, &deploy_profile());
    env.caller_arn(&[("AWS_PROFILE", "deploy".into())]);
    assert_eq!(sts.calls("AssumeRole").len(), 1, "the CLI assumed the role");
    let text = assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(
        sts.calls("AssumeRole").len(),
        1,
        "stsenv must not assume it again"
    );
    assert_eq!(exported(&text, "AWS_ACCESS_KEY_ID"), "AssumeRole0");
}

fn mfa_config(count_file: &Path) -> String {
    let process = format!("echo x >> {}; echo 123456", count_file.display());
    let mut config = String::new();
    for role in ["r1", "r2", "r3"] {
        config.push_str(&format!(
            "[profile {role}]\nrole_arn = {}\nsource_profile = base\nmfa_serial = {SERIAL}\nmfa_process = {process}\n\n",
            role_arn(role)
        ));
    }
    config
}

#[test]
fn three_roles_behind_one_mfa_profile_ask_once() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, "");
    let count = env.home().join("codes-asked");
    env.write(".aws/config", &mfa_config(&count));
    for role in ["r1", "r2", "r3"] {
        assume_ok(&env, &["assume", role, "-s", "bash"]);
    }
    let asked = std::fs::read_to_string(&count)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(asked, 1, "one code for three roles");
    let gst = sts.calls("GetSessionToken");
    assert_eq!(gst.len(), 1);
    assert_eq!(gst[0].param("SerialNumber"), Some(SERIAL));
    assert_eq!(gst[0].param("TokenCode"), Some("123456"));
    let assumes = sts.calls("AssumeRole");
    assert_eq!(assumes.len(), 3);
    for a in &assumes {
        assert_eq!(a.param("SerialNumber"), None);
        assert!(
            a.authorization.contains("Credential=GetSessionToken0/"),
            "{}",
            a.authorization
        );
    }
    let sessions: Vec<_> = std::fs::read_dir(env.home().join(".cache/stsenv"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("mfa-"))
        .collect();
    assert_eq!(sessions.len(), 1);
    assert_eq!(mode(&sessions[0].path()), 0o600);
}

#[test]
fn temporary_source_credentials_send_the_code_with_assume_role() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(
        &sts,
        &format!(
            "[profile r]\nrole_arn = {}\nsource_profile = temp\nmfa_serial = {SERIAL}\nmfa_process = echo 222333\n",
            role_arn("r")
        ),
    );
    env.write(
        ".aws/credentials",
        "[temp]\naws_access_key_id = ASIATEMP\naws_secret_access_key = s\naws_session_token = t\n",
    );
    assume_ok(&env, &["assume", "r", "-s", "bash"]);
    assert!(sts.calls("GetSessionToken").is_empty());
    let a = &sts.calls("AssumeRole")[0];
    assert_eq!(a.param("SerialNumber"), Some(SERIAL));
    assert_eq!(a.param("TokenCode"), Some("222333"));
}

#[test]
fn mfa_arn_is_read_with_a_warning() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(
        &sts,
        &format!(
            "[profile r]\nrole_arn = {}\nsource_profile = base\nmfa_arn = {SERIAL}\n",
            role_arn("r")
        ),
    );
    let out = env.stsenv(&["assume", "r", "-s", "bash", "--token-code", "111111"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mfa_arn, which the AWS CLI ignores"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sts.calls("GetSessionToken")[0].param("SerialNumber"),
        Some(SERIAL)
    );
}

#[test]
fn the_prompt_uses_the_terminal_while_stdout_is_captured() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &mfa_profile());
    let tty = Tmux::run(&env, &[BIN, "assume", "r", "-s", "bash"]);
    // (tmux drops the trailing space of the prompt from its screen capture)
    tty.wait_for(&format!("MFA code for {SERIAL} (r):"), 1);
    tty.type_line("12345");
    tty.wait_for("not a 6-digit code", 1);
    tty.wait_for("MFA code for", 2);
    tty.type_line("987654");
    let (rc, out, err) = tty.finish();
    assert_eq!(rc, 0, "stderr: {err}");
    assert_eq!(exported(&out, "AWS_ACCESS_KEY_ID"), "AssumeRole1");
    assert!(
        !out.contains("MFA code"),
        "the prompt must not reach stdout"
    );
    assert_eq!(
        sts.calls("GetSessionToken")[0].param("TokenCode"),
        Some("987654")
    );
}

#[test]
fn ctrl_c_at_the_prompt_leaves_only_false_on_stdout() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &mfa_profile());
    let tty = Tmux::run(&env, &[BIN, "assume", "r", "-s", "bash"]);
    tty.wait_for("MFA code for", 1);
    tty.send_key("C-c");
    let (rc, out, _) = tty.finish();
    assert_eq!(rc, 130);
    assert_eq!(out, "false\n");
    assert!(sts.requests().is_empty());
    assert_no_partial_files(&env);
}

fn key_file(env: &TestEnv, role: &str) -> PathBuf {
    let key = python_key(&format!("{{\"RoleArn\": \"{}\"}}", role_arn(role)));
    cli_cache(env).join(format!("{key}.json"))
}

#[test]
fn corrupt_untrusted_and_expiring_entries_are_replaced() {
    let sts = FakeSts::numbered(3600);
    let (env, _net) = env_at_default(&sts, &deploy_profile());
    let file = key_file(&env, "deploy");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    for (i, bad) in [
        "{\"Credentials\": {\"AccessKe",
        "",
        "[]",
        "{\"Credentials\": {\"AccessKeyId\": \"A\", \"Expiration\": \"never\"}}",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(&file, bad).unwrap();
        assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
        assert_eq!(
            sts.calls("AssumeRole").len(),
            i + 1,
            "entry {bad:?} must be ignored"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            doc["Credentials"]["AccessKeyId"],
            format!("AssumeRole{i}"),
            "and replaced"
        );
    }
    // An entry that has expired.
    let past = stsenv::time::rfc3339(stsenv::time::now() - 60);
    std::fs::write(
        &file,
        format!("{{\"Credentials\": {{\"AccessKeyId\": \"OLD\", \"SecretAccessKey\": \"S\", \"SessionToken\": \"T\", \"Expiration\": \"{past}\"}}}}"),
    )
    .unwrap();
    let text = assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(sts.calls("AssumeRole").len(), 5);
    assert_ne!(exported(&text, "AWS_ACCESS_KEY_ID"), "OLD");
    // An entry others could have written is not trusted.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(sts.calls("AssumeRole").len(), 6);
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn an_entry_with_ten_minutes_left_is_not_reused() {
    let sts = FakeSts::numbered(600);
    let env = env_for(&sts, &deploy_profile());
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(sts.calls("AssumeRole").len(), 2);
}

#[test]
fn entries_in_every_format_the_cli_writes_are_reused() {
    let sts = FakeSts::numbered(3600);
    let (env, _net) = env_at_default(&sts, &deploy_profile());
    let file = key_file(&env, "deploy");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let later = stsenv::time::rfc3339(stsenv::time::now() + 7200);
    for (i, exp) in [
        later.clone(),
        later.replace('Z', "+00:00"),
        later.replace('Z', ".123456+00:00"),
        later.replace('Z', "UTC"),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(
            &file,
            format!("{{\"Credentials\": {{\"AccessKeyId\": \"CLI{i}\", \"SecretAccessKey\": \"S\", \"SessionToken\": \"T\", \"Expiration\": \"{exp}\"}}}}"),
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
        assert_eq!(
            exported(&text, "AWS_ACCESS_KEY_ID"),
            format!("CLI{i}"),
            "{exp}"
        );
    }
    assert!(sts.requests().is_empty());
}

#[test]
fn no_cache_and_refresh() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy_profile());
    assume_ok(&env, &["assume", "deploy", "-s", "bash", "--no-cache"]);
    assert!(
        !key_file(&env, "deploy").exists(),
        "--no-cache writes nothing"
    );
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    let text = assume_ok(&env, &["assume", "deploy", "-s", "bash", "--refresh"]);
    assert_eq!(
        sts.calls("AssumeRole").len(),
        3,
        "--refresh ignores the cached entry"
    );
    assert_eq!(exported(&text, "AWS_ACCESS_KEY_ID"), "AssumeRole2");
    let again = assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(
        exported(&again, "AWS_ACCESS_KEY_ID"),
        "AssumeRole2",
        "and writes the new one"
    );
}

#[test]
fn cache_list_and_clear() {
    let sts = FakeSts::numbered(3600);
    let count = std::env::temp_dir().join(format!("stsenv-unused-{}", std::process::id()));
    let mut config = deploy_profile();
    config.push_str(&mfa_config(&count));
    let env = env_for(&sts, &config);
    let out = env.stsenv(&["cache", "list"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assume_ok(&env, &["assume", "r1", "-s", "bash"]);
    let out = env.stsenv(&["cache", "list"]);
    let table = stdout(&out);
    assert!(
        table.contains("deploy: arn:aws:sts::123456789012:assumed-role/deploy/"),
        "{table}"
    );
    assert!(table.contains(&format!("base ({SERIAL})")), "{table}");
    assert!(table.contains("59m") || table.contains("1h00m"), "{table}");
    for secret in ["SECRET", "TOKEN"] {
        assert!(!table.contains(secret), "{table}");
    }
    let out = env.stsenv(&["cache", "clear", "r1"]);
    assert!(
        stderr(&out).contains("removed 2 cached entries for r1"),
        "{}",
        stderr(&out)
    );
    let table = stdout(&env.stsenv(&["cache", "list"]));
    assert!(
        table.contains("deploy:") && !table.contains("mfa "),
        "{table}"
    );
    let out = env.stsenv(&["cache", "clear"]);
    assert!(
        stderr(&out).contains("removed 1 cached entry"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&env.stsenv(&["cache", "list"])), "");
}

#[test]
fn twenty_concurrent_assumes_make_one_request() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy_profile());
    let children: Vec<_> = (0..20)
        .map(|_| {
            env.command(BIN)
                .args(["assume", "deploy", "-s", "bash"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", stderr(o));
        assert_eq!(exported(&stdout(o), "AWS_ACCESS_KEY_ID"), "AssumeRole0");
    }
    assert_eq!(sts.calls("AssumeRole").len(), 1);
    let files: Vec<_> = std::fs::read_dir(cli_cache(&env))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "one entry and no temp files: {files:?}");
    assert_eq!(mode(&files[0]), 0o600);
    let _: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
}

/// Security round 3, endpoint-scoped cache: after an assume at one endpoint, another endpoint
/// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS or the profile's endpoint_url) gets credentials of
/// its own, never the first one's: LocalStack and a real account in one shell never mix. The
/// botocore file name, shared with the AWS CLI, is for the default endpoint only.
#[test]
fn cached_credentials_serve_only_the_endpoint_that_issued_them() {
    let (a, b, c) = (
        FakeSts::numbered(3600),
        FakeSts::numbered(3600),
        FakeSts::numbered(3600),
    );
    let mut env = env_for(&a, &deploy_profile());
    let calls = |s: &FakeSts| s.calls("AssumeRole").len();
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(calls(&a), 1);
    env.set("AWS_ENDPOINT_URL", &b.url);
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(calls(&b), 1, "B was asked, not A's entry served");
    env.set("AWS_ENDPOINT_URL", &a.url);
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(calls(&a), 1, "A's own entry is still A's");
    env.vars.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.set("AWS_ENDPOINT_URL_STS", &b.url);
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(
        calls(&b),
        1,
        "the same endpoint, however it is set, shares its entry"
    );
    env.vars.retain(|(k, _)| k != "AWS_ENDPOINT_URL_STS");
    env.with_base_profile(&format!("{}endpoint_url = {}\n", deploy_profile(), c.url));
    assume_ok(&env, &["assume", "deploy", "-s", "bash"]);
    assert_eq!(
        calls(&c),
        1,
        "the profile's endpoint_url is an endpoint of its own"
    );
    assert_eq!((calls(&a), calls(&b)), (1, 1));
    let botocore = python_key(&format!("{{\"RoleArn\": \"{}\"}}", role_arn("deploy")));
    assert!(
        !cli_cache(&env).join(format!("{botocore}.json")).exists(),
        "no endpoint's credentials under the default endpoint's name"
    );
}

/// The security findings about this feature.
mod security {
    use crate::common::demo;
    use crate::common::fake_sts::FakeSts;
    use crate::common::*;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::process::Stdio;
    use std::time::Duration;
    use std::time::Instant;

    /// Security round 2, finding 4: The endpoint is part of the key; an entry STS could never
    /// have written is not used.
    #[test]
    fn credentials_from_one_endpoint_are_not_served_for_another() {
        let a = FakeSts::numbered(3600);
        let b = FakeSts::numbered(3600);
        let env = demo::env(&a);
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

    /// Security round 2, finding 4: The endpoint is part of the key; an entry STS could never
    /// have written is not used.
    #[test]
    fn a_cache_entry_that_outlives_what_sts_grants_is_not_trusted() {
        let sts = FakeSts::numbered(3600);
        let env = demo::env(&sts);
        let entry = demo::cached(&env);
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

    /// Security round 2, finding 8: A cache folder others can write in, or a file planted in
    /// it, is not trusted.
    #[test]
    fn a_cache_folder_others_can_write_in_is_not_used() {
        let sts = FakeSts::numbered(3600);
        let mut env = demo::env(&sts);
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

    /// Security round 2, finding 8: A cache folder others can write in, or a file planted in
    /// it, is not trusted.
    #[test]
    fn planted_fifos_links_and_held_locks_neither_hang_nor_hurt() {
        let sts = FakeSts::numbered(3600);
        let env = demo::env(&sts);
        let entry = demo::cached(&env);
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

    /// Security round 2, finding 18: A NUL in a cache entry makes it corrupt, not fatal.
    #[test]
    fn a_cache_entry_with_a_nul_is_replaced() {
        let sts = FakeSts::numbered(3600);
        let env = demo::env(&sts);
        let entry = demo::cached(&env);
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

    /// Security round 2, finding 8: A cache folder others can write in, or a file planted in
    /// it, is not trusted; one of your own behind a symlink is fine.
    #[test]
    fn a_symlinked_cache_folder_of_ones_own_is_fine() {
        let sts = FakeSts::numbered(3600);
        let env = demo::env(&sts);
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
}
