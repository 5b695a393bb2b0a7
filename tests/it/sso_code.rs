//! Signing in the way the AWS CLI v2 does by default: the authorization code with PKCE, the
//! browser (a script that follows the fake's redirect with curl, as a browser would) coming
//! back to stsenv's listener on 127.0.0.1. Then everything around it: the device code's
//! fallbacks, the registrations each flow reuses, the refresh before any new sign-in,
//! botocore refreshing what stsenv wrote, automatic sign-in under eval on a real terminal,
//! FIPS and dual-stack endpoints, and a profile that can sign in but give no credentials.

use std::collections::{BTreeSet, HashMap};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::fake_sso::{Authorize, Client, FakeSso, Outcome, USER_CODE};
use crate::common::fake_sts::FakeSts;
use crate::common::netfix::{Ca, Proxy, TlsFront};
use crate::common::tty::Tmux;
use crate::common::*;
use crate::sso::{config, env_for, token_doc, START_URL, TOKEN_FILE};

/// As `sso::env_for`, with a display: the browser's flow is the default.
fn code_env() -> (TestEnv, FakeSso) {
    let (mut env, sso) = env_for(Outcome::Approve);
    env.set("DISPLAY", ":0");
    (env, sso)
}

fn read(env: &TestEnv, rel: &str) -> String {
    std::fs::read_to_string(env.home().join(rel)).unwrap_or_default()
}

/// The browser's log once its curl has finished (it runs in the background).
fn browser_done(env: &TestEnv) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = read(env, "browser.log");
        if log.contains("page status") || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The port of the listener, from the redirect URI of the URL the browser was given.
fn listener_port(env: &TestEnv) -> u16 {
    let log = read(env, "browser.log");
    let url = log.lines().next().expect("the browser was opened");
    let rest = url
        .split("redirect_uri=http%3A%2F%2F127.0.0.1%3A")
        .nth(1)
        .unwrap();
    rest.split('%').next().unwrap().parse().unwrap()
}

/// botocore's file name for the registration of [sso-session corp], computed by Python.
fn registration_file() -> String {
    let script = format!(
        "import hashlib, json; print(hashlib.sha1(json.dumps({{'tool': 'botocore', 'startUrl': '{START_URL}', 'region': 'us-east-1', 'scopes': ['sso:account:access'], 'session_name': 'corp'}}, sort_keys=True).encode()).hexdigest())"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    format!(
        ".aws/sso/cache/{}.json",
        String::from_utf8(out.stdout).unwrap().trim()
    )
}

#[test]
fn login_through_the_browser_then_assume_the_profile_and_a_role_on_top() {
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
    let out = env.stsenv(&["login", "sso-dev"]);
    let err = stderr(&out);
    assert!(
        out.status.success(),
        "{err}; refusals: {:?}",
        sso.refusals()
    );
    assert_eq!(stdout(&out), "", "nothing on stdout");
    assert!(sso.refusals().is_empty(), "{:?}", sso.refusals());
    assert!(
        !err.contains("device code") && !err.contains(USER_CODE),
        "{err}"
    );
    assert!(err.contains("opened your browser to sign in"), "{err}");
    assert!(err.contains("signed in to the SSO session 'corp'"), "{err}");
    assert!(sso.to("/device_authorization").is_empty());
    // RegisterClient as the AWS CLI v2 makes it for this flow.
    let register = sso.to("/client/register")[0].json();
    assert_eq!(register["clientType"], "public");
    assert_eq!(
        register["grantTypes"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        register["redirectUris"],
        json!(["http://127.0.0.1/oauth/callback"])
    );
    assert_eq!(register["issuerUrl"], START_URL);
    assert_eq!(register["scopes"], json!(["sso:account:access"]));
    // The /authorize URL, opened in the browser as its one argument: nothing secret in it.
    let authorize = &sso.to("/authorize")[0];
    let q = |k: &str| authorize.query(k).unwrap_or_default();
    assert_eq!(q("response_type"), "code");
    assert_eq!(q("client_id"), "client-id-0");
    assert_eq!(q("code_challenge_method"), "S256");
    assert_eq!(q("scopes"), "sso:account:access");
    assert!(q("state").len() >= 22, "128 bits at least: {}", q("state"));
    let redirect = q("redirect_uri");
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/oauth/callback"),
        "{redirect}"
    );
    let log = browser_done(&env);
    let opened = log.lines().next().unwrap();
    assert_eq!(
        format!("http://127.0.0.1:{}{}", sso.http.port, authorize.target),
        opened,
        "the browser was given the URL, and only it"
    );
    assert!(log.contains("page status 200 redirects 1"), "{log}");
    assert_no_secrets(&log);
    // CreateToken with the code, the same redirect URI and the verifier.
    let token = sso.to("/token")[0].json();
    assert_eq!(token["grantType"], "authorization_code");
    assert_eq!(token["code"], "auth-code-value-0");
    assert_eq!(token["redirectUri"], redirect.as_str());
    assert_eq!(token["clientId"], "client-id-0");
    let verifier = token["codeVerifier"].as_str().unwrap();
    assert!((43..=128).contains(&verifier.len()), "{verifier}");
    assert!(!opened.contains(verifier));
    // The tab says it is done, and holds no secret.
    let page = read(&env, "browser.log.page");
    assert!(
        page.contains("Signed in") && page.contains("You can close this tab"),
        "{page}"
    );
    assert_no_secrets(&page);
    assert!(!page.contains(&q("state")) && !page.contains(verifier));
    // One valid callback, then the listener is gone.
    assert!(TcpStream::connect(("127.0.0.1", listener_port(&env))).is_err());
    // The files, as the AWS CLI v2 writes them for this flow.
    let reg = read(&env, &registration_file());
    assert!(
        reg.starts_with("{\"clientId\": \"client-id-0\", \"clientSecret\": \"client-secret-value-0\", \"expiresAt\": \"")
            && reg.ends_with("Z\", \"scopes\": [\"sso:account:access\"], \"grantTypes\": [\"authorization_code\", \"refresh_token\"]}"),
        "{reg}"
    );
    let doc = token_doc(&env);
    assert_eq!(doc["accessToken"], "access-token-value-0");
    assert_eq!(doc["refreshToken"], "refresh-token-value-0");
    assert_eq!(doc["clientId"], "client-id-0");
    assert_eq!(doc["startUrl"], START_URL);
    assert!(doc["registrationExpiresAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // The SSO profile as a target, then a role on top of it.
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash", "--no-login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("export AWS_ACCESS_KEY_ID='ASIAPORTALREADONLY'"));
    let sts = FakeSts::numbered(3600);
    let out = env.assume_at("deploy", &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sts.calls("AssumeRole")[0]
        .authorization
        .contains("Credential=ASIAPORTALREADONLY/"));
    assert_eq!(
        sso.to("/federation/credentials")[0].header("x-amz-sso_bearer_token"),
        Some("access-token-value-0")
    );
}

#[test]
fn botocore_reads_and_refreshes_the_token_stsenv_wrote_and_stsenv_uses_its_own() {
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
    assert!(env.stsenv(&["login", "sso-dev"]).status.success());
    // Five minutes left: botocore refreshes it with the refresh token and the registration.
    let file = env.home().join(TOKEN_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let expires = token_doc(&env)["expiresAt"].as_str().unwrap().to_string();
    let soon = stsenv::time::rfc3339(stsenv::time::now() + 300);
    std::fs::write(&file, text.replace(&expires, &soon)).unwrap();
    let script = "import botocore.session\n\
        from botocore.tokens import SSOTokenProvider\n\
        s = botocore.session.Session(profile='sso-dev')\n\
        print(SSOTokenProvider(s).load_token().get_frozen_token().token == 'access-token-value-1')\n";
    let out = env
        .command("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True",
        "{}",
        stderr(&out)
    );
    let refresh = sso.to("/token").last().unwrap().json();
    assert_eq!(refresh["grantType"], "refresh_token");
    assert_eq!(refresh["refreshToken"], "refresh-token-value-0");
    assert_eq!(refresh["clientId"], "client-id-0");
    assert_eq!(refresh["clientSecret"], "client-secret-value-0");
    assert_eq!(token_doc(&env)["accessToken"], "access-token-value-1");
    // What botocore wrote, stsenv uses as it is.
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash", "--no-login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sso.to("/federation/credentials")
            .last()
            .unwrap()
            .header("x-amz-sso_bearer_token"),
        Some("access-token-value-1")
    );
}

#[test]
fn a_wrong_state_is_refused_and_the_wait_goes_on_to_the_right_one() {
    require("curl", "apt-get install curl");
    let (mut env, sso) = code_env();
    env.set("BROWSER_MODE", "wrong-state-first");
    let out = env.stsenv(&["login", "sso-dev"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let log = browser_done(&env);
    assert!(log.contains("wrong-state 400"), "{log}");
    assert!(log.contains("page status 200"), "{log}");
    assert!(
        err.contains(
            "refused an answer from the browser for another sign-in (an older tab?); still waiting"
        ),
        "{err}"
    );
    assert!(err.contains("signed in to the SSO session 'corp'"), "{err}");
    assert_eq!(token_doc(&env)["accessToken"], "access-token-value-0");
    assert!(sso.refusals().is_empty(), "{:?}", sso.refusals());
}

#[test]
fn access_denied_in_the_browser_ends_the_sign_in_with_one_line() {
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
    *sso.authorize.lock().unwrap() = Authorize::Deny;
    let out = env.stsenv(&["login", "sso-dev"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert_eq!(stdout(&out), "");
    assert_eq!(
        err.lines().last().unwrap(),
        "stsenv: could not sign in to the SSO session 'corp': the sign-in was refused in the browser: access_denied (The user denied the request); run stsenv login again"
    );
    assert!(sso.to("/token").is_empty());
    assert!(!env.home().join(TOKEN_FILE).exists());
    browser_done(&env);
    let page = read(&env, "browser.log.page");
    assert!(
        page.contains("Sign-in refused") && page.contains("access_denied"),
        "{page}"
    );
}

#[test]
fn the_wait_for_the_browser_is_bounded() {
    let (mut env, sso) = code_env();
    env.set("BROWSER_MODE", "ignore");
    let started = Instant::now();
    let out = env.stsenv(&["login", "sso-dev", "--wait", "1s"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        err.lines().last().unwrap(),
        "stsenv: could not sign in to the SSO session 'corp': the browser did not come back within 1 s (nothing was approved); run stsenv login again (--wait gives the browser longer)"
    );
    assert!(!env.home().join(TOKEN_FILE).exists());
    // The URL was opened (and printed), but nobody came back.
    let authorize = read(&env, "browser.log");
    assert!(authorize.contains("/authorize?response_type=code"));
    assert!(
        err.contains("/authorize?response_type=code&client_id=client-id-0"),
        "{err}"
    );
    assert!(sso.to("/token").is_empty());
    let out = env.stsenv(&["login", "sso-dev", "--wait", "0"]);
    assert!(
        stderr(&out).contains("invalid wait '0'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_browser_only_prints_the_url_for_the_person_to_open() {
    use std::io::BufRead;
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
    let mut child = env
        .command(BIN)
        .args(["login", "sso-dev", "--no-browser", "--wait", "30s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("stsenv ended before printing the URL")
            .unwrap();
        said.push(line.clone());
        if let Some(url) = line.strip_prefix("  ") {
            break url.to_string();
        }
    };
    assert!(
        said.iter()
            .any(|l| l == "stsenv: to sign in, open this URL in a browser on this machine:"),
        "{said:?}"
    );
    // The person opens it (here curl, as a browser would).
    let page = std::process::Command::new("curl")
        .args(["-sS", "-L", "--max-time", "20", &url])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&page.stdout).contains("Signed in"),
        "{}",
        String::from_utf8_lossy(&page.stderr)
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let all = format!("{}\n{}", said.join("\n"), rest.join("\n"));
    assert_no_secrets(&all);
    assert!(status.success(), "{all}");
    assert!(
        !env.home().join("browser.log").exists(),
        "no browser was opened"
    );
    assert_eq!(sso.to("/authorize").len(), 1);
    assert_eq!(token_doc(&env)["accessToken"], "access-token-value-0");
}

/// One login of `env`, with its stderr.
fn login(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["login", "sso-dev"];
    all.extend_from_slice(args);
    let out = env.stsenv(&all);
    let err = stderr(&out);
    assert!(out.status.success(), "{args:?}: {err}");
    err
}

#[test]
fn every_path_to_the_device_code_and_the_way_back() {
    let device = |env: &TestEnv, sso: &FakeSso, args: &[&str], why: &str| {
        let err = login(env, args);
        assert!(
            err.contains(&format!("stsenv: signing in with a device code: {why}")),
            "{args:?}: {err}"
        );
        assert!(err.contains(USER_CODE), "{err}");
        assert_eq!(sso.to("/device_authorization").len(), 1);
        assert!(sso.to("/authorize").is_empty());
    };
    let (env, sso) = code_env();
    device(
        &env,
        &sso,
        &["--use-device-code"],
        "as --use-device-code asks",
    );
    let session = config().replace(
        "[sso-session corp]\n",
        "[sso-session corp]\nsso_use_device_code = true\n",
    );
    let (env, sso) = code_env();
    env.write(".aws/config", &session);
    device(
        &env,
        &sso,
        &[],
        "as sso_use_device_code = true in [sso-session corp] asks",
    );
    let profile = config().replace(
        "[profile sso-dev]\n",
        "[profile sso-dev]\nsso_use_device_code = TRUE\n",
    );
    let (env, sso) = code_env();
    env.write(".aws/config", &profile);
    device(
        &env,
        &sso,
        &[],
        "as sso_use_device_code = true in [profile sso-dev] asks",
    );
    for var in ["SSH_CONNECTION", "SSH_TTY"] {
        let (mut env, sso) = code_env();
        env.set(var, "10.0.0.1 51000 10.0.0.2 22");
        device(&env, &sso, &[], "this is an SSH session");
    }
    let (env, sso) = env_for(Outcome::Approve);
    device(&env, &sso, &[], "there is no display here");
    let legacy = format!(
        "[profile sso-dev]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n"
    );
    let (env, sso) = code_env();
    env.write(".aws/config", &legacy);
    device(&env, &sso, &[], "the profile sets sso_start_url itself");
    // `false` asks for the browser, over SSH and without a display too.
    let back = config().replace(
        "[sso-session corp]\n",
        "[sso-session corp]\nsso_use_device_code = false\n",
    );
    let (mut env, sso) = env_for(Outcome::Approve);
    env.set("SSH_TTY", "/dev/pts/7");
    env.write(".aws/config", &back);
    let err = login(&env, &[]);
    assert!(!err.contains("device code"), "{err}");
    assert_eq!(sso.to("/authorize").len(), 1);
    assert!(sso.to("/device_authorization").is_empty());
}

#[test]
fn a_registration_serves_only_the_flow_it_was_made_for() {
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
    // As the AWS CLI v2 caches a registration for the code flow.
    sso.add_client(
        "cli-client-id-0123",
        Client {
            secret: "cli-client-secret-0123".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            redirect_uris: vec!["http://127.0.0.1/oauth/callback".into()],
            issuer_url: Some(START_URL.into()),
            scopes: vec!["sso:account:access".into()],
        },
    );
    let expires = stsenv::time::rfc3339(stsenv::time::now() + 80 * 86400);
    let file = registration_file();
    env.write(
        &file,
        &format!("{{\"clientId\": \"cli-client-id-0123\", \"clientSecret\": \"cli-client-secret-0123\", \"expiresAt\": \"{expires}\", \"scopes\": [\"sso:account:access\"], \"grantTypes\": [\"authorization_code\", \"refresh_token\"]}}"),
    );
    login(&env, &[]);
    assert!(sso.to("/client/register").is_empty(), "the CLI's is reused");
    assert_eq!(
        sso.to("/authorize")[0].query("client_id").as_deref(),
        Some("cli-client-id-0123")
    );
    assert_eq!(token_doc(&env)["clientId"], "cli-client-id-0123");
    // The device code can't use it: a registration of its own, in the same file.
    login(&env, &["--use-device-code", "--force"]);
    assert_eq!(sso.to("/client/register").len(), 1);
    assert!(sso.to("/client/register")[0].json()["grantTypes"].is_null());
    assert!(
        !read(&env, &file).contains("grantTypes"),
        "{}",
        read(&env, &file)
    );
    assert_eq!(token_doc(&env)["clientId"], "client-id-0");
    // And the code flow can't use the device code's.
    login(&env, &["--force"]);
    assert_eq!(sso.to("/client/register").len(), 2);
    assert!(read(&env, &file).contains("\"grantTypes\": [\"authorization_code\""));
    assert_eq!(token_doc(&env)["clientId"], "client-id-1");
    assert!(sso.refusals().is_empty(), "{:?}", sso.refusals());
}

#[test]
fn login_renews_a_token_with_its_refresh_token_before_any_new_sign_in() {
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
    let write = |refresh: &str| {
        let soon = stsenv::time::rfc3339(stsenv::time::now() + 300);
        let reg = stsenv::time::rfc3339(stsenv::time::now() + 30 * 86400);
        env.write(
            TOKEN_FILE,
            &format!("{{\"startUrl\": \"{START_URL}\", \"region\": \"us-east-1\", \"accessToken\": \"cli-written-token-old\", \"expiresAt\": \"{soon}\", \"clientId\": \"client-id-9\", \"clientSecret\": \"client-secret-value-9\", \"registrationExpiresAt\": \"{reg}\", \"refreshToken\": \"{refresh}\"}}"),
        );
    };
    register_secret("client-secret-value-9");
    register_secret("refresh-token-value-9");
    register_secret("stale-refresh-value-9");
    write("refresh-token-value-9");
    let err = login(&env, &[]);
    assert!(
        err.contains(
            "renewed the token of the SSO session 'corp' with its refresh token, no sign-in needed"
        ),
        "{err}"
    );
    let tokens = sso.to("/token");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].json()["grantType"], "refresh_token");
    assert_eq!(tokens[0].json()["refreshToken"], "refresh-token-value-9");
    assert!(sso.to("/authorize").is_empty() && sso.to("/device_authorization").is_empty());
    assert!(!env.home().join("browser.log").exists(), "no browser");
    assert_eq!(token_doc(&env)["accessToken"], "access-token-value-0");
    // --force signs in anew, through the browser.
    let err = login(&env, &["--force"]);
    assert!(err.contains("signed in to the SSO session 'corp'"), "{err}");
    assert_eq!(sso.to("/authorize").len(), 1);
    // A refresh token the service refuses: said, then a new sign-in.
    write("stale-refresh-value-9");
    let err = login(&env, &[]);
    assert!(
        err.contains(
            "could not renew the token of the SSO session 'corp' with its refresh token ("
        ) && err.contains("); signing in anew"),
        "{err}"
    );
    assert_eq!(sso.to("/authorize").len(), 2);
}

#[test]
fn assume_signs_in_through_the_browser_under_eval_and_ctrl_c_ends_a_wait() {
    require("bash", "apt-get install bash");
    require("curl", "apt-get install curl");
    let (env, sso) = code_env();
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
    assert_eq!(sso.to("/authorize").len(), 1);
    assert!(sso.to("/device_authorization").is_empty());
    assert_eq!(token_doc(&env)["accessToken"], "access-token-value-0");
    drop(tty);
    // Ctrl-C while the browser is awaited: the run ends, nothing is written, the port closes.
    let (mut env, sso) = code_env();
    env.set("BROWSER_MODE", "ignore");
    let tty = Tmux::run(&env, &[BIN, "login", "sso-dev"]);
    tty.wait_for("waiting for the browser", 1);
    tty.send_key("C-c");
    let (rc, out, _) = tty.finish();
    assert_eq!(rc, 130);
    assert_eq!(out, "");
    assert!(!env.home().join(TOKEN_FILE).exists());
    assert!(sso.to("/token").is_empty());
    assert!(TcpStream::connect(("127.0.0.1", listener_port(&env))).is_err());
}

/// The fake behind TLS at the given AWS host names, reached through a proxy that resolves
/// them, as the real endpoints would be.
struct AwsHosts {
    proxy: Proxy,
    _front: TlsFront,
    _dir: tempfile::TempDir,
}

fn at_aws_hosts(env: &mut TestEnv, sso: &FakeSso, hosts: &[&str]) -> AwsHosts {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "aws-lookalike");
    let front = TlsFront::start(&ca.leaf(hosts, false), sso.http.port);
    let routes: HashMap<String, u16> = hosts
        .iter()
        .map(|h| (format!("{h}:443"), front.port))
        .collect();
    let proxy = Proxy::start(routes, None);
    env.vars.retain(|(k, _)| !k.starts_with("AWS_ENDPOINT_URL"));
    env.set("HTTPS_PROXY", &proxy.url);
    // The browser's redirect back to the listener goes direct.
    env.set("NO_PROXY", "127.0.0.1");
    env.set("AWS_CA_BUNDLE", ca.pem_path.to_str().unwrap());
    env.set("CURL_CA_BUNDLE", ca.pem_path.to_str().unwrap());
    AwsHosts {
        proxy,
        _front: front,
        _dir: dir,
    }
}

fn connected(hosts: &AwsHosts) -> BTreeSet<String> {
    hosts
        .proxy
        .log()
        .into_iter()
        .filter(|l| l.method == "CONNECT")
        .map(|l| l.target)
        .collect()
}

/// The AWS SDK's own test data (e2e_fips_and_dual_stack_sso): with FIPS and dual-stack on,
/// the portal and SSO-OIDC are asked at their FIPS / dual-stack hosts, whether the
/// environment or the profile asks for them.
#[test]
fn sso_requests_go_to_the_fips_and_dual_stack_hosts() {
    require("curl", "apt-get install curl");
    let (mut env, sso) = code_env();
    let both = [
        "oidc-fips.us-east-1.api.aws",
        "portal.sso-fips.us-east-1.api.aws",
    ];
    let hosts = at_aws_hosts(&mut env, &sso, &both);
    env.set("AWS_USE_FIPS_ENDPOINT", "true");
    env.set("AWS_USE_DUALSTACK_ENDPOINT", "true");
    let err = login(&env, &[]);
    assert!(
        err.contains("https://oidc-fips.us-east-1.api.aws/authorize?response_type=code"),
        "{err}"
    );
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash", "--no-login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIAPORTALREADONLY"));
    let want: BTreeSet<String> = both.iter().map(|h| format!("{h}:443")).collect();
    assert_eq!(connected(&hosts), want);
    assert!(sso.refusals().is_empty(), "{:?}", sso.refusals());

    // The profile's keys, and the device code.
    let (mut env, sso) = code_env();
    let fips = [
        "oidc-fips.us-east-1.amazonaws.com",
        "portal.sso-fips.us-east-1.amazonaws.com",
    ];
    let hosts = at_aws_hosts(&mut env, &sso, &fips);
    env.write(
        ".aws/config",
        &config().replace(
            "[profile sso-dev]\n",
            "[profile sso-dev]\nuse_fips_endpoint = true\n",
        ),
    );
    login(&env, &["--use-device-code"]);
    let out = env.stsenv(&["assume", "sso-dev", "-s", "bash", "--no-login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let want: BTreeSet<String> = fips.iter().map(|h| format!("{h}:443")).collect();
    assert_eq!(connected(&hosts), want);

    // FIPS and a custom endpoint can't be combined: said in words, before any request.
    let (mut env, sso) = code_env();
    env.set("AWS_USE_FIPS_ENDPOINT", "true");
    let out = env.stsenv(&["login", "sso-dev"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert_eq!(
        err.lines().last().unwrap(),
        "stsenv: FIPS endpoints (AWS_USE_FIPS_ENDPOINT / use_fips_endpoint) and a custom IAM Identity Center endpoint (AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_SSO or the profile's endpoint settings) can't be combined: unset one of them"
    );
    assert!(sso.requests().is_empty());
}

/// The AWS SDK's own test data (invalid_sso_credentials_config): a profile with sso_session
/// but without sso_account_id / sso_role_name gives a token, not credentials. That is said
/// first, not "you are not signed in", which a sign-in would not mend.
#[test]
fn a_profile_without_account_or_role_is_a_config_error_before_any_token_check() {
    let (env, sso) = env_for(Outcome::Approve);
    env.write(
        ".aws/config",
        &format!(
            "{}\n[profile token-only]\nsso_session = corp\n\n[profile half]\nsso_session = corp\nsso_account_id = 111122223333\n",
            config()
        ),
    );
    let sts = FakeSts::numbered(3600);
    let err = assert_clean_failure(&env.assume_at("token-only", &sts.url), &[]);
    assert_eq!(
        err.trim(),
        "stsenv: profile 'token-only': sso_session is set but sso_account_id and sso_role_name are not: add both, so that the profile gives the credentials of a role (without them it can sign in, but gives no credentials)"
    );
    let err = assert_clean_failure(&env.assume_at("half", &sts.url), &[]);
    assert!(
        err.contains("profile 'half': sso_session is set but sso_role_name is not: add it"),
        "{err}"
    );
    assert!(sso.requests().is_empty() && sts.requests().is_empty());
    // Such a profile still signs in.
    let out = env.stsenv(&["login", "token-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.home().join(TOKEN_FILE).exists());
}
