//! `stsenv exec --server`: real SDK clients (the AWS CLI, boto3, aws-config) as the child,
//! against the fake STS handing out short-lived, numbered credentials; the endpoint's
//! answers, refresh and its limits, the child's environment, signals and exit status.
//! Credentials last 15 minutes and a few seconds, so each set is due for a refresh seconds
//! after it was got, and stsenv refreshes at most once per gap: 10 s, shortened for each test
//! through the test hook STSENV_REFRESH_GAP_MS, so that no test waits on the real 10 s.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::tty::Tmux;
use crate::common::*;

/// The SDKs' refresh window, and stsenv's.
const WINDOW: i64 = 15 * 60;
const PATH: &str = "/stsenv/credentials";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

fn env_for(sts: &FakeSts, config: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(config);
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env.set("STSENV_REFRESH_GAP_MS", "1000");
    env
}

fn deploy() -> String {
    format!(
        "[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = eu-west-1\n",
        role_arn("deploy")
    )
}

/// Numbered credentials as `FakeSts::numbered` hands them out, but counted per action (the
/// third AssumeRole gives AssumeRole2, whatever GetCallerIdentity calls came between), with
/// secrets long enough to be checked for, and the lifetime `ttl` gives for the action.
fn sts_per_action(ttl: impl Fn(&str) -> i64 + Send + Sync + 'static) -> FakeSts {
    let counts: Mutex<HashMap<String, usize>> = Mutex::default();
    FakeSts::start(move |r, _| {
        let action = r.action().to_string();
        let n = {
            let mut counts = counts.lock().unwrap();
            let c = counts.entry(action.clone()).or_default();
            *c += 1;
            *c - 1
        };
        Reply::Credentials {
            access_key_id: format!("{action}{n}"),
            secret_access_key: format!("SECRET-{action}-{n}"),
            session_token: format!("TOKEN-{action}-{n}"),
            expiration: stsenv::time::rfc3339(stsenv::time::now() + ttl(&action)),
        }
    })
}

/// Waits for `path` to exist.
fn wait_for(path: &std::path::Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{what} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A GET to the server as an SDK sends it; `token` None sends no Authorization.
fn get(url: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|t| format!("Authorization: {t}\r\n"));
    raw(
        url,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n{}\r\n",
            auth.unwrap_or_default()
        ),
    )
}

fn raw(url: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(host(url)).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

fn host(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("an http URL");
    rest[..rest.find('/').unwrap_or(rest.len())].to_string()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A body that must carry no credentials at all.
fn assert_secret_free(body: &str) {
    for s in ["SECRET", "TOKEN", "AccessKeyId", "AssumeRole0"] {
        assert!(!body.contains(s), "{body}");
    }
    assert_no_secrets(body);
}

/// stsenv exec --server running a child that writes down its endpoint and environment, then
/// waits for `stop` in HOME (or for HOME to go, when a failed test drops it).
struct Served {
    stsenv: Child,
    home: PathBuf,
    url: String,
    token: String,
}

const WAITING_CHILD: &str = r#"printf '%s\n%s\n' "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN" > "$HOME/endpoint.tmp"
env > "$HOME/child-env"
mv "$HOME/endpoint.tmp" "$HOME/endpoint"
while [ ! -e "$HOME/stop" ] && [ -d "$HOME" ]; do sleep 0.05; done"#;

impl Served {
    fn start(env: &TestEnv, stsenv_args: &[&str]) -> Served {
        let mut args = vec!["exec", "--server"];
        args.extend_from_slice(stsenv_args);
        args.extend_from_slice(&["--", "sh", "-c", WAITING_CHILD]);
        let stsenv = env
            .command(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let home = env.home().to_path_buf();
        wait_for(&home.join("endpoint"), "the child's endpoint file");
        let text = std::fs::read_to_string(home.join("endpoint")).unwrap();
        let (url, token) = text.trim_end().split_once('\n').unwrap();
        register_secret(token);
        Served {
            stsenv,
            home,
            url: url.to_string(),
            token: token.to_string(),
        }
    }

    fn get(&self) -> (u16, String) {
        get(&self.url, PATH, Some(&self.token))
    }

    fn creds(&self) -> serde_json::Value {
        let (status, body) = self.get();
        assert_eq!(status, 200, "{body}");
        json(&body)
    }

    /// Lets the child end; stsenv's exit code and stderr (checked for secrets).
    fn finish(self) -> (i32, String) {
        std::fs::write(self.home.join("stop"), "").unwrap();
        let out = self.stsenv.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_no_secrets(&err);
        assert_eq!(stdout(&out), "", "exec --server prints nothing on stdout");
        (out.status.code().expect("an exit code"), err)
    }
}

#[test]
fn serves_the_credentials_to_the_token_only_and_hides_the_keys_from_the_child() {
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts, &deploy());
    // Stale values of each would win over the endpoint, or describe another session.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE1"),
        ("AWS_SECRET_ACCESS_KEY", "stale-secret-stale-secret"),
        ("AWS_SESSION_TOKEN", "stale-token-stale-token"),
        ("AWS_SECURITY_TOKEN", "stale-token-stale-token"),
        ("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z"),
        ("AWS_PROFILE", "stale"),
        ("AWS_DEFAULT_PROFILE", "stale"),
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/x",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/tmp/stale-token"),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale"),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.23/v1/x",
        ),
        ("STSENV_EXPIRES", "1"),
        ("STSENV_ARGS", "stale"),
    ] {
        env.set(k, v);
    }
    register_secret("stale-secret-stale-secret");
    let s = Served::start(&env, &["deploy"]);

    let c = s.creds();
    assert_eq!(c["AccessKeyId"], "AssumeRole0");
    assert_eq!(c["SecretAccessKey"], "SECRET0");
    assert_eq!(c["Token"], "TOKEN0");
    assert_eq!(c["RoleArn"], role_arn("deploy"));
    assert_eq!(c["AccountId"], ACCOUNT);
    let expiration = c["Expiration"].as_str().unwrap();
    assert!(expiration.ends_with('Z'), "{expiration}");
    let left = stsenv::time::parse(expiration).unwrap() - stsenv::time::now();
    assert!((3590..=3600).contains(&left), "{left}");
    assert_eq!(get(&s.url, &format!("{PATH}?x=1"), Some(&s.token)).0, 200);

    // Wrong, missing, prefixed, doubled or truncated tokens: 403, and nothing in the body.
    let mut wrong = s.token.clone().into_bytes();
    wrong[10] = if wrong[10] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    let bearer = format!("Bearer {}", s.token);
    for token in [
        None,
        Some(wrong.as_str()),
        Some(&bearer),
        Some(&s.token[..32]),
        Some(""),
    ] {
        let (status, body) = get(&s.url, PATH, token);
        assert_eq!(status, 403, "{token:?}: {body}");
        assert_eq!(json(&body)["Code"], "AccessDenied");
        assert_secret_free(&body);
    }
    let doubled = format!(
        "GET {PATH} HTTP/1.1\r\nAuthorization: {0}\r\nAuthorization: {0}\r\n\r\n",
        s.token
    );
    assert_eq!(raw(&s.url, &doubled).0, 403);
    // Another path, another method, a broken or oversized request: no credentials either.
    for (request, status) in [
        (
            format!("GET /other HTTP/1.1\r\nAuthorization: {}\r\n\r\n", s.token),
            404,
        ),
        (
            format!(
                "GET {PATH}/x HTTP/1.1\r\nAuthorization: {}\r\n\r\n",
                s.token
            ),
            404,
        ),
        (
            format!(
                "POST {PATH} HTTP/1.1\r\nAuthorization: {}\r\nContent-Length: 0\r\n\r\n",
                s.token
            ),
            405,
        ),
        ("BROKEN\r\n\r\n".to_string(), 400),
        (
            format!("GET {PATH} HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000)),
            431,
        ),
    ] {
        let (got, body) = raw(&s.url, &request);
        assert_eq!(got, status, "{body}");
        assert_secret_free(&body);
    }

    // A client that connects and says nothing doesn't hold up the next one.
    let _silent = TcpStream::connect(host(&s.url)).unwrap();
    let t = Instant::now();
    assert_eq!(s.get().0, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

    // The child's environment: the endpoint and the token, no keys, nothing that beats them.
    let child_env = std::fs::read_to_string(s.home.join("child-env")).unwrap();
    let var = |k: &str| {
        child_env
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(String::from)
    };
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "STSENV_EXPIRES",
        "STSENV_ARGS",
    ] {
        assert_eq!(var(k), None, "{k} reached the child");
    }
    for secret in ["SECRET0", "TOKEN0", "stale-secret"] {
        assert!(!child_env.contains(secret), "{secret} in the child's env");
    }
    let url = var("AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap();
    let port = host(&url)
        .strip_prefix("127.0.0.1:")
        .unwrap()
        .parse::<u16>();
    assert!(port.is_ok() && url.ends_with(PATH), "{url}");
    let token = var("AWS_CONTAINER_AUTHORIZATION_TOKEN").unwrap();
    assert!(
        token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    assert_eq!(var("STSENV_PROFILE").as_deref(), Some("deploy"));
    assert_eq!(var("STSENV_ROLE_ARN"), Some(role_arn("deploy")));
    assert_eq!(var("AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(var("AWS_DEFAULT_REGION").as_deref(), Some("eu-west-1"));

    // Tokens differ from run to run.
    let url = s.url.clone();
    let (code, err) = s.finish();
    assert_eq!((code, err.as_str()), (0, ""));
    // The port is closed once the child is gone.
    assert!(
        TcpStream::connect(host(&url)).is_err(),
        "the port is still open"
    );
    assert_eq!(sts.calls("AssumeRole").len(), 1);
    std::fs::remove_file(env.home().join("endpoint")).unwrap();
    std::fs::remove_file(env.home().join("stop")).unwrap();
    let again = Served::start(&env, &["deploy"]);
    assert_ne!(again.token, token);
    assert_eq!(again.finish().0, 0);
}

#[test]
fn the_aws_cli_gets_new_keys_after_a_refresh_and_the_mfa_session_is_reused() {
    require("aws", "pip install awscli");
    // The MFA session lasts; each role session is due for a refresh 6 s after it was got
    // (time enough for the CLI to start once first, even on a loaded machine).
    let sts = sts_per_action(|action| match action {
        "GetSessionToken" => 12 * 3600,
        _ => WINDOW + 6,
    });
    let env = env_for(
        &sts,
        &format!(
            "[profile deploy]\nrole_arn = {}\nsource_profile = base\nmfa_serial = {SERIAL}\nregion = eu-west-1\n",
            role_arn("deploy")
        ),
    );
    // The CLI, as a loop, until it has signed with two different keys (or 40 s have gone).
    let script = r#"end=$(( $(date +%s) + 40 ))
while [ "$(date +%s)" -lt "$end" ]; do
  aws sts get-caller-identity --query Arn --output text >> "$HOME/arns" || exit 9
  [ "$(sort -u "$HOME/arns" | wc -l)" -ge 2 ] && exit 0
done
exit 8"#;
    let started = Instant::now();
    let out = env
        .command(BIN)
        .args([
            "--verbose",
            "exec",
            "--server",
            "deploy",
            "--token-code",
            "123456",
            "--",
            "sh",
            "-c",
            script,
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = stderr(&out);
    assert_no_secrets(&err);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let arns = std::fs::read_to_string(env.home().join("arns")).unwrap();
    let keys: Vec<&str> = arns
        .lines()
        .map(|a| a.rsplit('/').next().unwrap())
        .collect();
    // AssumeRole0 (signed with the MFA session), then AssumeRole1 after the refresh.
    let first_new = keys.iter().position(|k| *k != "AssumeRole0").unwrap();
    assert!(first_new > 0, "{keys:?}");
    assert!(
        keys[first_new..].iter().all(|k| *k == "AssumeRole1"),
        "{keys:?}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    // One code, one MFA session; the refresh signed with it, without asking again.
    assert_eq!(sts.calls("GetSessionToken").len(), 1);
    let roles = sts.calls("AssumeRole");
    assert_eq!(roles.len(), 2);
    assert!(roles.iter().all(|r| r.param("TokenCode").is_none()));
    assert!(roles[1]
        .authorization
        .contains("Credential=GetSessionToken0/"));
    // --verbose: each request, its status and what was left, no secret (checked above).
    let logged: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("credential server: GET /stsenv/credentials"))
        .collect();
    assert!(logged.len() >= keys.len(), "{err}");
    assert!(logged.iter().all(|l| l.ends_with(": 200")), "{err}");
    assert!(logged[0].contains("credentials with 15m0"), "{err}");
    assert!(
        !err.contains("Authorization") && !err.contains("cannot"),
        "{err}"
    );
}

#[test]
fn boto3_sees_three_keys_in_order_across_three_refreshes() {
    let boto3 = std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .status();
    assert!(
        boto3.is_ok_and(|s| s.success()),
        "boto3 is not installed: pip install boto3 (scripts/test.sh installs it)"
    );
    let sts = sts_per_action(|_| WINDOW + 2);
    let env = env_for(&sts, &deploy());
    let script = r#"
import sys, time
import boto3
client = boto3.session.Session().client("sts")
seen, end = [], time.time() + 45
while len(seen) < 3 and time.time() < end:
    key = client.get_caller_identity()["Arn"].rsplit("/", 1)[1]
    if not seen or seen[-1] != key:
        seen.append(key)
    time.sleep(0.2)
print(" ".join(seen))
"#;
    let out = env
        .command(BIN)
        .args(["exec", "--server", "deploy", "--", "python3", "-c", script])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_no_secrets(&err);
    assert!(out.status.success(), "{err}");
    // Three keys, each the next one STS handed out (a loaded machine may start python after
    // the first one was already due, so boto3 may first see the second).
    let seen: Vec<usize> = stdout(&out)
        .split_whitespace()
        .map(|k| k.trim_start_matches("AssumeRole").parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 3, "{}: {err}", stdout(&out));
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
    assert_eq!(err, "");
    assert_eq!(sts.calls("AssumeRole").len(), seen[2] + 1);
}

/// The Rust SDK as the child: this test binary again, running only `rust_sdk_child`.
#[test]
fn the_rust_sdk_gets_credentials_from_the_server_and_new_ones_after_a_refresh() {
    let sts = sts_per_action(|_| WINDOW + 5);
    let mut env = env_for(&sts, &deploy());
    let result = env.home().join("sdk-result");
    env.set("STSENV_TEST_SDK_RESULT", result.to_str().unwrap());
    let me = std::env::current_exe().unwrap();
    let out = env
        .command(BIN)
        .args(["exec", "--server", "deploy", "--"])
        .arg(&me)
        .args([
            "exec_server::rust_sdk_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_no_secrets(&err);
    assert!(out.status.success(), "{}\n{err}", stdout(&out));
    let got = std::fs::read_to_string(&result).unwrap();
    assert_eq!(
        got,
        "AssumeRole0 arn:aws:sts::123456789012:assumed-role/key/AssumeRole0 AssumeRole1"
    );
}

/// Runs only as the child of the test above.
#[test]
fn rust_sdk_child() {
    let Some(result) = std::env::var_os("STSENV_TEST_SDK_RESULT") else {
        return;
    };
    use aws_credential_types::provider::ProvideCredentials;
    let net =
        stsenv::net::Net::new(&stsenv::env::Env::process(), Duration::from_secs(10), None).unwrap();
    let region = aws_sdk_sts::config::Region::new("eu-west-1");
    let rt = stsenv::net::runtime().unwrap();
    let line = rt.block_on(async {
        use aws_credential_types::provider::SharedCredentialsProvider;
        // The default chain, reading this process's own environment and files, as any Rust
        // program would.
        let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
            .configure(net.provider_config(&region))
            .build()
            .await;
        let chain = SharedCredentialsProvider::new(chain);
        let first = chain.provide_credentials().await.expect("credentials");
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(region.clone())
            .endpoint_url(std::env::var("AWS_ENDPOINT_URL").unwrap())
            .http_client(net.client())
            .credentials_provider(chain.clone())
            .build();
        let arn = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity")
            .arn
            .unwrap_or_default();
        // Due for a refresh 5 s after they were got, and stsenv's gap is 1 s here.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let second = chain.provide_credentials().await.expect("credentials");
        format!("{} {arn} {}", first.access_key_id(), second.access_key_id())
    });
    std::fs::write(result, line).unwrap();
}

#[test]
fn a_request_storm_makes_at_most_one_sts_call_per_hop_per_gap() {
    // Two hops, each handing out credentials that are always due for a refresh.
    let sts = FakeSts::numbered(WINDOW - 60);
    let mut env = env_for(
        &sts,
        &format!(
            "[profile mid]\nrole_arn = {}\nsource_profile = base\n[profile deploy]\nrole_arn = {}\nsource_profile = mid\n",
            role_arn("mid"),
            role_arn("deploy")
        ),
    );
    env.set("STSENV_REFRESH_GAP_MS", "2000");
    let s = Served::start(&env, &["deploy"]);
    let ready = Instant::now();
    // 100 requests from 10 clients over about a second, across the moment a refresh is
    // allowed again (2 s after the first credentials, got just before `ready`).
    std::thread::sleep(Duration::from_millis(1300));
    let results: Vec<(u16, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..10)
            .map(|_| {
                scope.spawn(|| {
                    (0..10)
                        .map(|_| {
                            let got = s.get();
                            std::thread::sleep(Duration::from_millis(150));
                            got
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(ready.elapsed() > Duration::from_millis(2_300));
    assert_eq!(results.len(), 100);
    let mut keys: Vec<String> = Vec::new();
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        let key = json(body)["AccessKeyId"].as_str().unwrap().to_string();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.sort();
    // mid is AssumeRole0 and deploy AssumeRole1 at the start; mid 2 and deploy 3 after the
    // one refresh.
    assert_eq!(keys, ["AssumeRole1", "AssumeRole3"]);
    let calls = sts.calls("AssumeRole");
    for role in ["mid", "deploy"] {
        let n = calls
            .iter()
            .filter(|r| r.param("RoleArn") == Some(role_arn(role).as_str()))
            .count();
        assert_eq!(n, 2, "AssumeRole {role}");
    }
    assert_eq!(s.finish(), (0, String::new()));
}

#[test]
fn when_sts_fails_the_old_credentials_serve_while_valid_then_a_500_says_why() {
    // The first credentials last 5 s, the refresh gap is 3 s; every later call is denied:
    // one failed attempt, then the old credentials while they last, then 500s.
    let sts = FakeSts::start(|_, n| match n {
        0 => Reply::Credentials {
            access_key_id: "AssumeRole0".into(),
            secret_access_key: "SECRET-failing-0".into(),
            session_token: "TOKEN-failing-0".into(),
            expiration: stsenv::time::rfc3339(stsenv::time::now() + 5),
        },
        _ => Reply::error(
            403,
            "AccessDenied",
            "User is not authorized to perform: sts:AssumeRole",
        ),
    });
    let mut env = env_for(&sts, &deploy());
    env.set("STSENV_REFRESH_GAP_MS", "3000");
    let s = Served::start(&env, &["deploy"]);
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut after_failure = 0;
    let failed = loop {
        assert!(Instant::now() < deadline, "never a 500");
        let attempts = sts.calls("AssumeRole").len();
        let (status, body) = s.get();
        if status == 500 {
            break json(&body);
        }
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["AccessKeyId"], "AssumeRole0");
        if attempts == 2 {
            after_failure += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        after_failure > 3,
        "the old credentials served after the failed refresh: {after_failure}"
    );
    assert_eq!(failed["Code"], "RefreshFailed");
    let message = failed["Message"].as_str().unwrap();
    assert!(
        message.contains("AccessDenied") || message.contains("not authorized"),
        "{message}"
    );
    assert_secret_free(&failed.to_string());
    // Every request meanwhile gets the same answer, and no second attempt within the gap.
    for _ in 0..5 {
        assert_eq!(s.get().0, 500);
    }
    assert_eq!(sts.calls("AssumeRole").len(), 2);
    let (code, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("stsenv: cannot refresh the credentials of deploy: "),
        "{err}"
    );
}

#[test]
fn exit_codes_are_the_childs_and_signals_reach_it() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy());
    let run = |args: &[&str]| {
        let mut all = vec!["exec", "--server", "deploy", "--"];
        all.extend_from_slice(args);
        let out = env.stsenv(&all);
        (out.status.code(), stdout(&out), stderr(&out))
    };
    assert_eq!(
        run(&["sh", "-c", "exit 7"]),
        (Some(7), String::new(), String::new())
    );
    assert_eq!(run(&["true"]), (Some(0), String::new(), String::new()));
    assert_eq!(run(&["sh", "-c", "kill -KILL $$"]).0, Some(128 + 9));
    assert_eq!(run(&["sh", "-c", "kill -TERM $$"]).0, Some(128 + 15));

    // SIGINT, SIGHUP, SIGQUIT and SIGTERM sent to stsenv go to the child; stsenv outlives
    // them and ends with the child's status.
    let script = r#"for s in INT HUP QUIT; do trap "echo $s >> \"\$HOME/got\"" $s; done
trap 'echo TERM >> "$HOME/got"; exit 3' TERM
touch "$HOME/ready"
while [ -d "$HOME" ]; do sleep 0.05 & wait; done"#;
    let mut stsenv = env
        .command(BIN)
        .args(["exec", "--server", "deploy", "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&env.home().join("ready"), "the child");
    let got = env.home().join("got");
    for (n, sig) in [libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGTERM]
        .into_iter()
        .enumerate()
    {
        unsafe { libc::kill(stsenv.id() as i32, sig) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&got)
            .unwrap_or_default()
            .lines()
            .count()
            <= n
        {
            assert!(
                Instant::now() < deadline,
                "signal {sig} never reached the child"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if sig != libc::SIGTERM {
            assert!(
                stsenv.try_wait().unwrap().is_none(),
                "stsenv died of signal {sig}"
            );
        }
    }
    let out = stsenv.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!((stdout(&out), stderr(&out)), (String::new(), String::new()));
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        "INT\nHUP\nQUIT\nTERM\n"
    );
}

#[test]
fn ctrl_c_at_the_terminal_reaches_the_child_once() {
    require("python3", "apt-get install python3");
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy());
    // Counts its SIGINTs for a while after it is ready, and exits with the count.
    let script = r#"
import os, signal, sys, time
n = 0
def count(*_):
    global n
    n += 1
signal.signal(signal.SIGINT, count)
open(os.environ["HOME"] + "/ready", "w").close()
end = time.time() + 2
while time.time() < end:
    time.sleep(0.05)
sys.exit(10 + n)
"#;
    let t = Tmux::run(
        &env,
        &[
            BIN, "exec", "--server", "deploy", "--", "python3", "-c", script,
        ],
    );
    wait_for(&env.home().join("ready"), "the child");
    t.send_key("C-c");
    let (rc, out, err) = t.finish();
    assert_eq!(
        (rc, out.as_str(), err.as_str()),
        (11, "", ""),
        "one SIGINT, and stsenv lived on"
    );
}

#[test]
fn exec_without_a_command_starts_the_users_shell() {
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts, &deploy());
    let shell = env.write_executable(
        "fake-shell",
        "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$#\" \"${AWS_ACCESS_KEY_ID-none}\" \"${AWS_CONTAINER_CREDENTIALS_FULL_URI-none}\" >> \"$HOME/shell-ran\"\nexit 5\n",
    );
    env.set("SHELL", shell.to_str().unwrap());
    assert_eq!(env.stsenv(&["exec", "deploy"]).status.code(), Some(5));
    assert_eq!(
        env.stsenv(&["exec", "--server", "deploy"]).status.code(),
        Some(5)
    );
    let ran = std::fs::read_to_string(env.home().join("shell-ran")).unwrap();
    let lines: Vec<&str> = ran.lines().collect();
    assert_eq!(lines[0], "0|AssumeRole0|none");
    assert!(lines[1].starts_with("0|none|http://127.0.0.1:"), "{ran}");
    // Without SHELL: /bin/sh, which reads its commands from stdin.
    env.set("SHELL", "");
    let out = env
        .command(BIN)
        .args(["exec", "deploy"])
        .stdin(std::fs::File::open(env.write("cmds", "echo from-sh; exit 4\n")).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(4), "from-sh\n".into()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_command_that_cannot_run_exits_127_or_126_as_in_the_shell() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy());
    let plain = env.write("plain-file", "echo hi\n");
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    for server in [false, true] {
        let run = |cmd: &str| {
            let mut args = vec!["exec"];
            if server {
                args.push("--server");
            }
            args.extend_from_slice(&["deploy", "--", cmd]);
            let out = env.stsenv(&args);
            (out.status.code(), stdout(&out), stderr(&out))
        };
        let none = String::new();
        assert_eq!(
            run("no-such-command-x"),
            (
                Some(127),
                none.clone(),
                "stsenv: no-such-command-x: command not found\n".into()
            )
        );
        assert_eq!(
            run("./no/such/file"),
            (
                Some(127),
                none.clone(),
                "stsenv: ./no/such/file: No such file or directory\n".into()
            )
        );
        assert_eq!(
            run("./plain-file"),
            (
                Some(126),
                none.clone(),
                "stsenv: ./plain-file: Permission denied\n".into()
            )
        );
    }
}

#[test]
fn plain_exec_still_replaces_itself() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy());
    let child = env
        .command(BIN)
        .args([
            "exec",
            "deploy",
            "--",
            "sh",
            "-c",
            "echo $$; echo \"$AWS_ACCESS_KEY_ID\"",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout(&out), format!("{pid}\nAssumeRole0\n"));
    // With --server, stsenv is the parent: the child has another pid.
    let child = env
        .command(BIN)
        .args(["exec", "--server", "deploy", "--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_ne!(stdout(&out).trim(), pid.to_string());
}

#[test]
fn failures_before_the_child_starts_are_one_line_and_nothing_runs() {
    // STS says no: one line, exit 1, and the command never ran.
    let sts = FakeSts::always(Reply::error(403, "AccessDenied", "not authorized"));
    let env = env_for(&sts, &deploy());
    let marker = env.home().join("ran");
    let touch = format!("touch {}", marker.display());
    let out = env.stsenv(&["exec", "--server", "deploy", "--", "sh", "-c", &touch]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "", "exec is not eval'd: no `false`");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(!marker.exists());
    // Long-term keys never expire and can't be served as container credentials.
    let out = env.stsenv(&["exec", "--server", "base", "--", "sh", "-c", &touch]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("without --server"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(!marker.exists());
}

#[test]
fn a_default_profile_with_keys_is_warned_about() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy());
    env.write(
        ".aws/credentials",
        &format!("[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n[default]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"),
    );
    let out = env.stsenv(&["exec", "--server", "deploy", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("stsenv: warning: the default profile has credentials"),
        "{err}"
    );
}

/// Security round 3, G3: the server's port is visible to every local user, and another user
/// opening hundreds of idle or slow connections must not lock the token holder out: the
/// request with the right token is still answered, and at once. (As root, the connections
/// come from another uid, through setpriv; otherwise from this one, which changes nothing
/// for the server.)
#[test]
fn idle_connections_of_another_user_cannot_starve_the_token_holder() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, &deploy());
    let s = Served::start(&env, &["deploy"]);
    let port = host(&s.url).rsplit(':').next().unwrap().to_string();
    let flood = r#"
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        c.send(b"GET /stsenv/cre")
    socks.append(c)
print("ready", flush=True)
end = time.time() + 8
while time.time() < end:
    for i, c in enumerate(socks):
        if i % 2:
            try:
                c.send(b"x")
            except OSError:
                pass
    time.sleep(0.1)
"#;
    // The system's python: one under /root (pyenv) is not for another uid to run.
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", python]);
        c
    } else {
        std::process::Command::new(python)
    };
    let mut attacker = cmd
        .args(["-c", flood, &port, "300"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 and setpriv (util-linux) are needed");
    let mut ready = [0u8; 6];
    attacker
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut ready)
        .expect("the connections were opened");
    assert_eq!(&ready, b"ready\n");
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = s.get();
        assert_eq!(status, 200, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "answered after {:?}",
            started.elapsed()
        );
    }
    let _ = attacker.kill();
    let _ = attacker.wait();
    let (code, _) = s.finish();
    assert_eq!(code, 0);
}
