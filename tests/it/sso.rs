//! IAM Identity Center: `stsenv login` / `logout` against a fake SSO-OIDC and portal, the
//! token cache shared with the AWS CLI (read back by botocore and boto3), automatic sign-in
//! under eval on a real terminal, and the one-line error where nobody can sign in. These sign
//! in with the device code: the test environment has no display (sso_code has the browser's
//! flow).

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::fake_sso::{FakeSso, Outcome, BROWSER_SCRIPT, USER_CODE};
use crate::common::fake_sts::FakeSts;
use crate::common::tty::Tmux;
use crate::common::*;

pub const START_URL: &str = "https://d-123.awsapps.com/start";
/// sha1("corp"): the AWS CLI's file name for the token of [sso-session corp].
pub const TOKEN_FILE: &str = ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

pub fn config() -> String {
    format!(
        "[profile sso-dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n\
         [profile deploy]\nrole_arn = {}\nsource_profile = sso-dev\n",
        role_arn("deploy")
    )
}

/// A HOME with the config, the fake SSO behind both endpoint variables, and a "browser" that
/// records the URL it is asked to open (and follows an `/authorize` one back to stsenv).
pub fn env_for(outcome: Outcome) -> (TestEnv, FakeSso) {
    let mut env = TestEnv::new();
    env.write(".aws/config", &config());
    let log = env.home().join("browser.log");
    let sso = FakeSso::start(log.clone(), outcome);
    let browser = env.write_executable("browser.sh", BROWSER_SCRIPT);
    env.set("BROWSER", browser.to_str().unwrap());
    env.set("BROWSER_LOG", log.to_str().unwrap());
    env.set("AWS_ENDPOINT_URL_SSO_OIDC", &sso.url);
    env.set("AWS_ENDPOINT_URL_SSO", &sso.url);
    // One "second" of the service's polling interval lasts this long here (a test hook).
    env.set("STSENV_SSO_POLL_MS", &POLL_MS.to_string());
    (env, sso)
}

const POLL_MS: u64 = 100;

pub fn token_doc(env: &TestEnv) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(env.home().join(TOKEN_FILE)).unwrap()).unwrap()
}

#[test]
fn the_token_file_name_is_the_aws_clis() {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib; print(hashlib.sha1(b'corp').hexdigest())",
        ])
        .output()
        .unwrap();
    assert!(TOKEN_FILE.contains(String::from_utf8(out.stdout).unwrap().trim()));
}

#[test]
fn login_then_assume_the_sso_profile_and_a_role_on_top() {
    let (env, sso) = env_for(Outcome::Approve);
    let out = env.stsenv(&["login", "sso-dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing on stdout");
    let err = stderr(&out);
    assert!(err.contains(USER_CODE), "{err}");
    assert!(err.contains("signed in to the SSO session 'corp'"), "{err}");
    let log = std::fs::read_to_string(env.home().join("browser.log")).unwrap();
    assert!(log.contains(&format!("user_code={USER_CODE}")), "{log}");
    // The token where and as the AWS CLI v2 keeps it.
    let file = env.home().join(TOKEN_FILE);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let doc = token_doc(&env);
    assert_eq!(doc["startUrl"], START_URL);
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["accessToken"], "access-token-value-0");
    assert_eq!(doc["refreshToken"], "refresh-token-value-0");
    assert_eq!(doc["clientId"], "client-id-0");
    assert!(doc["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert!(doc["registrationExpiresAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let register = &sso.to("/client/register")[0];
    assert_eq!(
        register.json()["scopes"],
        serde_json::json!(["sso:account:access"])
    );
    // The SSO profile as a target, then a role on top of it.
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("export AWS_ACCESS_KEY_ID='ASIAPORTALREADONLY'"),
        "{}",
        stdout(&out)
    );
    let sts = FakeSts::numbered(3600);
    let out = env.assume_at("deploy", &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sts.calls("AssumeRole")[0]
        .authorization
        .contains("Credential=ASIAPORTALREADONLY/"));
    let roles = sso.to("/federation/credentials");
    assert_eq!(
        roles[0].query("account_id").as_deref(),
        Some("111122223333")
    );
    assert_eq!(
        roles[0].header("x-amz-sso_bearer_token"),
        Some("access-token-value-0")
    );
    // A second sign-in reuses the client registration.
    let out = env.stsenv(&["login", "--sso-session", "corp", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sso.to("/client/register").len(), 1);
    assert_eq!(token_doc(&env)["accessToken"], "access-token-value-1");
}

#[test]
fn botocore_and_boto3_read_the_token_stsenv_wrote() {
    let (env, sso) = env_for(Outcome::Approve);
    assert!(env.stsenv(&["login", "sso-dev"]).status.success());
    let loader = "import os; from botocore.utils import SSOTokenLoader, JSONFileCache; \
        t = SSOTokenLoader(JSONFileCache(os.path.expanduser('~/.aws/sso/cache')))('https://d-123.awsapps.com/start', session_name='corp'); \
        print(t['accessToken'] == 'access-token-value-0')";
    let out = env
        .command("python3")
        .args(["-c", loader])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True",
        "{}",
        stderr(&out)
    );
    let session = "import boto3; print(boto3.Session(profile_name='sso-dev').get_credentials().get_frozen_credentials().access_key)";
    let out = env
        .command("python3")
        .args(["-c", session])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ASIAPORTALREADONLY",
        "boto3: {}",
        stderr(&out)
    );
    assert_eq!(sso.to("/federation/credentials").len(), 1);
}

#[test]
fn a_token_the_aws_cli_wrote_needs_no_new_login() {
    let (env, sso) = env_for(Outcome::Approve);
    let expires = stsenv::time::rfc3339(stsenv::time::now() + 8 * 3600);
    // As the AWS CLI v2 writes it (Python's separators, its key order).
    env.write(
        TOKEN_FILE,
        &format!("{{\"startUrl\": \"{START_URL}\", \"region\": \"us-east-1\", \"accessToken\": \"cli-written-token-0123\", \"expiresAt\": \"{expires}\"}}"),
    );
    register_secret("cli-written-token-0123");
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash", "--no-login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIAPORTALREADONLY"));
    assert!(sso.to("/token").is_empty() && sso.to("/device_authorization").is_empty());
    let out = env.stsenv(&["profiles"]);
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("sso-dev "))
        .unwrap()
        .to_string();
    assert!(
        line.contains("corp: 7h") || line.contains("corp: 8h"),
        "{line}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&env.stsenv(&["profiles", "--json"]))).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "sso-dev")
        .unwrap()
        .clone();
    assert_eq!(row["sso_session"], "corp");
    assert_eq!(row["sso_token_valid"], true);
    assert_eq!(row["sso_account_id"], "111122223333");
}

#[test]
fn a_token_near_its_end_is_refreshed_without_a_new_sign_in() {
    let (env, sso) = env_for(Outcome::Deny);
    let soon = stsenv::time::rfc3339(stsenv::time::now() + 300);
    let reg = stsenv::time::rfc3339(stsenv::time::now() + 30 * 86400);
    env.write(
        TOKEN_FILE,
        &format!("{{\"startUrl\": \"{START_URL}\", \"region\": \"us-east-1\", \"accessToken\": \"cli-written-token-old\", \"expiresAt\": \"{soon}\", \"clientId\": \"client-id-9\", \"clientSecret\": \"client-secret-value-9\", \"registrationExpiresAt\": \"{reg}\", \"refreshToken\": \"refresh-token-value-9\"}}"),
    );
    register_secret("client-secret-value-9");
    register_secret("refresh-token-value-9");
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = &sso.to("/token")[0];
    assert_eq!(token.json()["grantType"], "refresh_token");
    assert_eq!(token.json()["refreshToken"], "refresh-token-value-9");
    assert!(sso.to("/device_authorization").is_empty(), "no new sign-in");
    let doc = token_doc(&env);
    assert_eq!(doc["accessToken"], "access-token-value-0");
    assert_eq!(doc["clientId"], "client-id-9", "the registration goes on");
}

#[test]
fn every_polling_outcome() {
    // slow_down: the next poll waits 5 s longer than the interval.
    let (env, sso) = env_for(Outcome::SlowDownOnce);
    let out = env.stsenv(&["login", "sso-dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let polls = sso.to("/token");
    assert!(polls.len() >= 2, "{polls:?}");
    // Denied and expired: one line each, nothing written.
    for (outcome, text) in [
        (Outcome::Deny, "was denied"),
        (Outcome::Expire, "was not approved before its code expired"),
    ] {
        let (env, _sso) = env_for(outcome);
        let out = env.stsenv(&["login", "sso-dev"]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.lines().last().unwrap().contains(text), "{err}");
        assert!(!env.home().join(TOKEN_FILE).exists());
    }
}

#[test]
fn slow_down_adds_five_seconds() {
    let (env, sso) = env_for(Outcome::SlowDownOnce);
    let started = Instant::now();
    let out = env.stsenv(&["login", "sso-dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // interval 1 s, +5 after slow_down: at least 6 s between those two polls (of
    // POLL_MS each, here).
    assert!(
        started.elapsed() >= Duration::from_millis(6 * POLL_MS),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sso.to("/token").len(), 2);
}

#[test]
fn no_browser_prints_the_code_and_waits_for_approval_elsewhere() {
    let (env, sso) = env_for(Outcome::Approve);
    let child = env
        .command(BIN)
        .args(["login", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Approved on another device once the first poll was pending (and the code shown).
    while sso.to("/token").is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    sso.approve();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_no_secrets(&err);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("https://device.sso.us-east-1.amazonaws.com/") && err.contains(USER_CODE),
        "{err}"
    );
    assert!(
        !env.home().join("browser.log").exists(),
        "no browser was opened"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn without_a_terminal_the_expired_session_is_one_line() {
    let (env, sso) = env_for(Outcome::Approve);
    let sts = FakeSts::numbered(3600);
    let err = assert_clean_failure(&env.assume_at("deploy", &sts.url), &[]);
    assert_eq!(
        err.trim(),
        "stsenv: you are not signed in to the SSO session 'corp'; run: stsenv login sso-dev"
    );
    let past = stsenv::time::rfc3339(stsenv::time::now() - 60);
    env.write(
        TOKEN_FILE,
        &format!("{{\"startUrl\": \"{START_URL}\", \"region\": \"us-east-1\", \"accessToken\": \"cli-written-token-gone\", \"expiresAt\": \"{past}\"}}"),
    );
    let err = assert_clean_failure(&env.assume_at("sso-dev", &sts.url), &[]);
    assert_eq!(
        err.trim(),
        "stsenv: the SSO session 'corp' has expired; run: stsenv login sso-dev"
    );
    assert!(sso.requests().is_empty() && sts.requests().is_empty());
}

#[test]
fn assume_signs_in_on_the_terminal_under_eval() {
    require("bash", "apt-get install bash");
    let (env, sso) = env_for(Outcome::Approve);
    let sts = FakeSts::numbered(3600);
    let script = format!(
        "eval \"$('{BIN}' assume deploy --endpoint-url {} -s bash)\" && printf 'KEY=%s\\n' \"$AWS_ACCESS_KEY_ID\"",
        sts.url
    );
    let tty = Tmux::run(&env, &["bash", "-c", &script]);
    let (rc, out, err) = tty.finish();
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        out, "KEY=AssumeRole0\n",
        "stdout carried only the statements"
    );
    assert!(!sso.to("/device_authorization").is_empty());
    assert!(env.home().join(TOKEN_FILE).exists());
    // In CI, even with a terminal, nobody is there to approve: the one-line error instead.
    let mut ci = env;
    std::fs::remove_file(ci.home().join(TOKEN_FILE)).unwrap();
    for f in ["rc", "out", "err"] {
        let _ = std::fs::remove_file(ci.home().join(f));
    }
    ci.set("CI", "true");
    let tty = Tmux::run(&ci, &[BIN, "assume", "sso-dev", "-s", "bash"]);
    let (rc, out, err) = tty.finish();
    assert_ne!(rc, 0);
    assert_eq!(out, "false\n");
    assert!(err.contains("run: stsenv login sso-dev"), "{err}");
}

#[test]
fn logout_ends_the_portal_session_and_removes_the_token() {
    let (env, sso) = env_for(Outcome::Approve);
    assert!(env.stsenv(&["login", "sso-dev"]).status.success());
    let out = env.stsenv(&["logout", "sso-dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.home().join(TOKEN_FILE).exists());
    let logout = &sso.to("/logout")[0];
    assert_eq!(
        logout.header("x-amz-sso_bearer_token"),
        Some("access-token-value-0")
    );
    // The registration stays; without a name, every token goes.
    assert!(env.stsenv(&["login", "sso-dev"]).status.success());
    let out = env.stsenv(&["logout"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.home().join(TOKEN_FILE).exists());
    assert_eq!(sso.to("/client/register").len(), 1);
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash"]);
    assert!(!out.status.success());
}

/// Security round 3, G2: a hostile sign-in endpoint's URL can't run shell code through a
/// `$BROWSER` that is shell text, can't become a browser option, and is opened only when it is
/// https; a newline in its code forges no line on the terminal. The sign-in still completes.
#[test]
fn a_hostile_device_authorization_runs_nothing_and_forges_no_line() {
    let (mut env, sso) = env_for(Outcome::Approve);
    let marker = env.home().join("pwned");
    let log = env.home().join("browser.log");
    // `%s` inside shell text, as some users write $BROWSER.
    env.set(
        "BROWSER",
        &format!("sh -c 'printf \"%%s\\n\" %s >> {}'", log.display()),
    );
    let hostile = [
        format!(
            "https://device.example/?c=$(touch {m});touch {m};'x'",
            m = marker.display()
        ),
        format!("--gpu-launcher=touch {}", marker.display()),
        "file:///etc/passwd".to_string(),
        "javascript:alert(1)".to_string(),
    ];
    sso.approve();
    for url in &hostile {
        let _ = std::fs::remove_file(&log);
        sso.pending.store(1, std::sync::atomic::Ordering::SeqCst);
        *sso.device.lock().unwrap() = Some(serde_json::json!({
            "deviceCode": "device-code-value-0123",
            "userCode": "WDJB-MJHT\nstsenv: signed in, nothing more to do",
            "verificationUri": url,
            "verificationUriComplete": url,
            "expiresIn": 600,
            "interval": 1,
        }));
        let out = env.stsenv(&["login", "sso-dev", "--force"]);
        assert!(out.status.success(), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!marker.exists(), "{url}: the URL ran shell code");
        for line in err.lines() {
            assert!(
                line.starts_with("stsenv: "),
                "{url}: a line not ours: {line:?}"
            );
            assert!(
                !line.starts_with("stsenv: signed in, nothing"),
                "{url}: forged: {err}"
            );
        }
        assert!(err.contains("WDJB-MJHT\\u{a}stsenv"), "{url}: {err}");
        let opened = std::fs::read_to_string(&log).unwrap_or_default();
        if url.starts_with("https://") {
            assert_eq!(
                opened.trim(),
                format!(
                    "https://device.example/?c=%24%28touch%20{m}%29%3Btouch%20{m}%3B%27x%27",
                    m = marker.display()
                ),
                "opened percent-encoded, as one word"
            );
        } else {
            assert_eq!(opened, "", "{url} must not be opened");
            assert!(!err.contains(&format!("{url}\n")));
        }
    }
}
