//! `stsenv console` against a fake federation endpoint on 127.0.0.1 that checks the Session
//! JSON against what the fake STS handed out, with `$BROWSER` a script that records the URL.

use std::collections::HashMap;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::fake_http::{self, FakeHttp, HttpRequest, HttpResponse};
use crate::common::fake_sts::FakeSts;
use crate::common::shells::{self, get, Sh};
use crate::common::tty::Tmux;
use crate::common::*;

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A federation endpoint that signs in only credentials the numbered fake STS gave out
/// (`<Action><n>`, `SECRET<n>`, `TOKEN<n>`) or those in `also`, and answers 400 otherwise.
struct Federation {
    http: FakeHttp,
}

impl Federation {
    fn start(also: &[(&str, &str, &str)]) -> Federation {
        let known: Vec<(String, String, String)> = also
            .iter()
            .map(|(a, s, t)| (a.to_string(), s.to_string(), t.to_string()))
            .collect();
        static ISSUED: AtomicUsize = AtomicUsize::new(0);
        Federation {
            http: FakeHttp::start(move |req, _| {
                if req.path() != "/federation"
                    || req.query("Action").as_deref() != Some("getSigninToken")
                {
                    return HttpResponse::text(404, "not here");
                }
                let session: serde_json::Value = req
                    .query("Session")
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or_default();
                let field = |k: &str| session[k].as_str().unwrap_or("").to_string();
                let (id, key, token) = (
                    field("sessionId"),
                    field("sessionKey"),
                    field("sessionToken"),
                );
                let n = id.trim_start_matches(|c: char| !c.is_ascii_digit());
                let numbered = ["AssumeRole", "GetFederationToken"]
                    .iter()
                    .any(|a| id.strip_prefix(a) == Some(n))
                    && !n.is_empty()
                    && key == format!("SECRET{n}")
                    && token == format!("TOKEN{n}");
                let listed = known
                    .iter()
                    .any(|(a, s, t)| (a, s, t) == (&id, &key, &token));
                if !numbered && !listed {
                    return HttpResponse::text(400, "Invalid credentials parameter");
                }
                let signin = format!("SigninToken-{}-xyz", ISSUED.fetch_add(1, Ordering::Relaxed));
                register_secret(&signin);
                HttpResponse::json(200, &serde_json::json!({ "SigninToken": signin }))
            }),
        }
    }

    /// Always this status.
    fn failing(status: u16) -> Federation {
        Federation {
            http: FakeHttp::start(move |_, _| HttpResponse::text(status, "no")),
        }
    }

    fn url(&self) -> String {
        format!("{}/federation", self.http.url)
    }

    /// The getSigninToken requests, with their Session JSON decoded.
    fn sessions(&self) -> Vec<(HttpRequest, serde_json::Value)> {
        self.http
            .to("/federation")
            .into_iter()
            .map(|r| {
                let s = serde_json::from_str(&r.query("Session").unwrap_or_default())
                    .unwrap_or_default();
                (r, s)
            })
            .collect()
    }
}

/// A profile `deploy` (role, from the static keys of `base`, region eu-west-1), `chained`
/// (a role from `deploy`), STS at the fake, and `$BROWSER` a script that appends each URL it
/// gets to ~/browser-urls.
fn env_for(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = eu-west-1\n\n[profile chained]\nrole_arn = {}\nsource_profile = deploy\nregion = eu-west-1\n",
        role_arn("deploy"),
        role_arn("chained")
    ));
    env.set("AWS_ENDPOINT_URL", &sts.url);
    with_browser(&mut env);
    env
}

fn with_browser(env: &mut TestEnv) {
    let script = fake_browser(env, "bin/record-url");
    env.set("BROWSER", script.to_str().unwrap());
}

/// The real Python interpreter (not a pyenv shim, which needs PATH): the fake browsers run
/// with any PATH.
fn python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 (scripts/test.sh needs it too)");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// A browser that does what a browser does with the URL it is given: appends its arguments
/// (JSON) to ~/browser-args and its environment to ~/browser-env, fetches the URL (the `url`
/// inside a container extension's `ext+…:` URL) and appends where it was sent to
/// ~/browser-urls; then fetches it again and appends what that got to ~/browser-again.
fn fake_browser(env: &TestEnv, rel: &str) -> std::path::PathBuf {
    env.write_executable(
        rel,
        &format!(
            r#"#!{}
import http.client, json, os, sys, urllib.parse
home = os.environ["HOME"]
sys.stderr = open(os.path.join(home, "browser-stderr"), "a")
def append(name, text):
    with open(os.path.join(home, name), "a") as f:
        f.write(text + "\n")
args = sys.argv[1:]
append("browser-args", json.dumps(args))
append("browser-env", json.dumps(dict(os.environ)))
url = args[-1]
if url.startswith("ext+"):
    url = urllib.parse.parse_qs(url.split(":", 1)[1])["url"][0]
u = urllib.parse.urlsplit(url)
def get():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path)
    r = c.getresponse()
    return r.getheader("Location") or "HTTP %d" % r.status
append("browser-urls", get())
try:
    append("browser-again", get())
except ConnectionRefusedError:
    append("browser-again", "refused")
"#,
            python()
        ),
    )
}

fn lines_of(env: &TestEnv, name: &str) -> Vec<String> {
    std::fs::read_to_string(env.home().join(name))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Where the fake browsers were sent, once each browser started is done: stsenv returns as
/// soon as its link was answered, which may be before the browser wrote down the answer.
fn browser_urls(env: &TestEnv) -> Vec<String> {
    let started = std::time::Instant::now();
    while lines_of(env, "browser-again").len() < lines_of(env, "browser-args").len()
        && started.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    lines_of(env, "browser-urls")
}

/// The arguments each fake browser was started with.
fn browser_args(env: &TestEnv) -> Vec<Vec<String>> {
    lines_of(env, "browser-args")
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A one-time link: http://127.0.0.1:<port>/<64 hex digits>.
fn assert_one_time_link(url: &str) {
    let path = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once('/'))
        .map(|(port, path)| {
            assert!(port.parse::<u16>().is_ok(), "{url}");
            path
        })
        .unwrap_or_else(|| panic!("not a one-time link: {url}"));
    assert_eq!(path.len(), 64, "{url}");
    assert!(path.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
}

/// The query of a login URL, decoded.
fn login_query(url: &str, federation: &str) -> HashMap<String, String> {
    let query = url
        .strip_prefix(federation)
        .and_then(|rest| rest.strip_prefix('?'))
        .unwrap_or_else(|| panic!("not a login URL at {federation}: {url}"));
    fake_http::form(query)
}

/// Nothing of the sign-in reached stderr: no login URL, no token, no request query.
fn assert_quiet_stderr(o: &Output) -> String {
    let err = stderr(o);
    // The endpoint's site may be named, never its path or query.
    for s in [
        "Action=",
        "SigninToken=",
        "SigninToken-",
        "Session=",
        "/federation",
    ] {
        assert!(!err.contains(s), "stderr shows {s:?}: {err}");
    }
    err
}

/// A failed console run: non-zero, nothing on stdout, one line on stderr.
fn assert_console_failure(o: &Output) -> String {
    let err = assert_quiet_stderr(o);
    assert!(!o.status.success(), "expected failure; stderr: {err}");
    assert_eq!(stdout(o), "", "stdout must be empty; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr must be one line: {err:?}");
    assert!(err.starts_with("stsenv: "), "{err}");
    err
}

fn succeeded(o: &Output) -> String {
    let err = assert_quiet_stderr(o);
    assert!(o.status.success(), "{err}");
    err
}

#[test]
fn a_role_target_signs_in_with_the_assumed_credentials_and_opens_the_browser() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    let out = env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]);
    let err = succeeded(&out);
    assert_eq!(stdout(&out), "", "nothing on stdout when a browser opens");
    assert!(
        err.contains("opened the AWS console for deploy with record-url"),
        "{err}"
    );
    assert_eq!(sts.calls("AssumeRole").len(), 1);
    let sessions = fed.sessions();
    assert_eq!(sessions.len(), 1);
    let (req, session) = &sessions[0];
    assert_eq!(session["sessionId"], "AssumeRole0");
    assert_eq!(session["sessionKey"], "SECRET0");
    assert_eq!(session["sessionToken"], "TOKEN0");
    assert_eq!(req.query("SessionDuration"), None);
    let urls = browser_urls(&env);
    assert_eq!(urls.len(), 1, "{urls:?}");
    let q = login_query(&urls[0], &fed.url());
    assert_eq!(q["Action"], "login");
    assert_eq!(q["Issuer"], "stsenv");
    assert!(q["SigninToken"].starts_with("SigninToken-"), "{q:?}");
    assert_eq!(
        q["Destination"],
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
    );
    // The cache `assume` fills serves the console too: no second AssumeRole.
    let again = env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]);
    succeeded(&again);
    assert_eq!(sts.calls("AssumeRole").len(), 1);
}

#[test]
fn without_a_target_the_shells_credentials_sign_in() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[("ASIASHELL", "shell-secret-1234", "shell-token-5678")]);
    register_secret("shell-secret-1234");
    register_secret("shell-token-5678");
    let mut env = env_for(&sts);
    env.set("AWS_ACCESS_KEY_ID", "ASIASHELL")
        .set("AWS_SECRET_ACCESS_KEY", "shell-secret-1234")
        .set("AWS_SESSION_TOKEN", "shell-token-5678")
        .set("AWS_REGION", "ap-southeast-2")
        .set("STSENV_PROFILE", "prod")
        .set("STSENV_ROLE_ARN", &role_arn("prod"))
        .set(
            "AWS_CREDENTIAL_EXPIRATION",
            &stsenv::time::rfc3339(stsenv::time::now() + 600),
        );
    let out = env.stsenv(&["console", "--print", "--federation-url", &fed.url()]);
    succeeded(&out);
    assert!(sts.requests().is_empty(), "no STS request for session keys");
    let (_, session) = &fed.sessions()[0];
    assert_eq!(session["sessionId"], "ASIASHELL");
    let q = login_query(stdout(&out).trim_end(), &fed.url());
    assert_eq!(
        q["Destination"],
        "https://ap-southeast-2.console.aws.amazon.com/console/home?region=ap-southeast-2"
    );
    assert!(browser_urls(&env).is_empty(), "--print opens nothing");
}

#[test]
fn without_a_target_or_credentials_in_the_shell_it_says_what_to_do() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    let err = assert_console_failure(&env.stsenv(&["console", "--federation-url", &fed.url()]));
    assert!(
        err.contains("no credentials in this shell") && err.contains("run `assume` first"),
        "{err}"
    );
    // Expired credentials are named before any request.
    env.set("AWS_ACCESS_KEY_ID", "AssumeRole9")
        .set("AWS_SECRET_ACCESS_KEY", "SECRET9")
        .set("AWS_SESSION_TOKEN", "TOKEN9")
        .set("STSENV_PROFILE", "prod")
        .set("STSENV_EXPIRES", "1000");
    let err = assert_console_failure(&env.stsenv(&["console", "--federation-url", &fed.url()]));
    assert!(
        err.contains("expired at 1970-01-01T00:16:40Z") && err.contains("`assume prod`"),
        "{err}"
    );
    // Options about assuming need a target.
    env.set("STSENV_EXPIRES", &(stsenv::time::now() + 900).to_string());
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "--external-id",
        "abc",
        "--federation-url",
        &fed.url(),
    ]));
    assert!(
        err.contains("--external-id is about assuming a target"),
        "{err}"
    );
    assert!(fed.sessions().is_empty() && browser_urls(&env).is_empty());
}

#[test]
fn long_term_iam_user_keys_sign_in_through_a_federation_token() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    env.write(
        ".aws/credentials",
        &format!("[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"),
    );
    let out = env.stsenv(&[
        "console",
        "base",
        "-d",
        "20h",
        "--print",
        "--federation-url",
        &fed.url(),
    ]);
    let err = succeeded(&out);
    assert!(
        err.contains("the credentials of base are long-term IAM user keys")
            && err.contains("federated user stsenv-tester")
            && err.contains("GetFederationToken"),
        "{err}"
    );
    let calls = sts.calls("GetFederationToken");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("Name"), Some("stsenv-tester"));
    assert_eq!(calls[0].param("DurationSeconds"), Some("72000"));
    assert_eq!(calls[0].param("Policy"), Some(ALLOW_ALL));
    assert!(calls[0].authorization.contains(BASE_KEY));
    let (req, session) = &fed.sessions()[0];
    assert_eq!(session["sessionId"], "GetFederationToken0");
    assert_eq!(
        req.query("SessionDuration"),
        None,
        "never for federation tokens"
    );
    // The region in force is the default profile's, else us-east-1.
    let q = login_query(stdout(&out).trim_end(), &fed.url());
    assert_eq!(
        q["Destination"],
        "https://console.aws.amazon.com/console/home?region=us-east-1"
    );

    // The same from keys in the shell, with the STS endpoint the environment names.
    env.set("AWS_ACCESS_KEY_ID", BASE_KEY)
        .set("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
    let out = env.stsenv(&["console", "--print", "--federation-url", &fed.url()]);
    let err = succeeded(&out);
    assert!(
        err.contains("the credentials in this shell are long-term IAM user keys"),
        "{err}"
    );
    let calls = sts.calls("GetFederationToken");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].param("DurationSeconds"), None);
    assert_eq!(fed.sessions()[1].1["sessionId"], "GetFederationToken1");
}

#[test]
fn an_mfa_session_profile_is_refused_before_any_prompt_or_request() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    env.write(
        ".aws/config",
        "[profile alice]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n",
    );
    env.write(
        ".aws/credentials",
        &format!(
            "[alice]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
        ),
    );
    let err =
        assert_console_failure(&env.stsenv(&["console", "alice", "--federation-url", &fed.url()]));
    assert!(err.contains("MFA session (GetSessionToken)"), "{err}");
    assert!(sts.requests().is_empty() && fed.sessions().is_empty());
}

#[test]
fn service_region_and_destination_choose_the_page() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    let cases: [(&[&str], &str); 5] = [
        (
            &["--service", "s3", "--region", "eu-central-1"],
            "https://eu-central-1.console.aws.amazon.com/s3/home?region=eu-central-1",
        ),
        (
            &["--service", "cloudformation"],
            "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1",
        ),
        (
            &["--service", "iam"],
            "https://console.aws.amazon.com/iam/home",
        ),
        (
            &["--service", "bedrock", "-r", "us-east-1"],
            "https://console.aws.amazon.com/bedrock/home?region=us-east-1",
        ),
        (
            &[
                "--destination",
                "https://console.aws.amazon.com/s3/buckets/my-bucket?tab=objects",
            ],
            "https://console.aws.amazon.com/s3/buckets/my-bucket?tab=objects",
        ),
    ];
    let fed_url = fed.url();
    for (extra, want) in cases {
        let mut args = vec!["console", "deploy", "--print", "--federation-url", &fed_url];
        args.extend_from_slice(extra);
        let out = env.stsenv(&args);
        succeeded(&out);
        let q = login_query(stdout(&out).trim_end(), &fed.url());
        assert_eq!(q["Destination"], want, "{extra:?}");
    }
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "deploy",
        "--service",
        "s3#x",
        "--federation-url",
        &fed.url(),
    ]));
    assert!(err.contains("invalid service 's3#x'"), "{err}");
}

#[test]
fn each_partition_signs_in_at_its_own_endpoint_and_console() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    for (arn, region, host) in [
        (
            "arn:aws-us-gov:iam::123456789012:role/gov",
            "us-gov-east-1",
            "https://us-gov-east-1.console.amazonaws-us-gov.com/console/home?region=us-gov-east-1",
        ),
        (
            "arn:aws-cn:iam::123456789012:role/cn",
            "cn-northwest-1",
            "https://cn-northwest-1.console.amazonaws.cn/console/home?region=cn-northwest-1",
        ),
        // us-east-1 (of the base profile) is no region of aws-cn: its first region stands in.
        (
            "arn:aws-cn:iam::123456789012:role/cn",
            "us-east-1",
            "https://console.amazonaws.cn/console/home?region=cn-north-1",
        ),
    ] {
        let out = env.stsenv(&[
            "console",
            arn,
            "-p",
            "base",
            "-r",
            region,
            "--print",
            "--federation-url",
            &fed.url(),
        ]);
        succeeded(&out);
        let q = login_query(stdout(&out).trim_end(), &fed.url());
        assert_eq!(q["Destination"], host);
    }
    let before = sts.requests().len();
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "arn:aws-iso:iam::123456789012:role/secret",
        "-p",
        "base",
    ]));
    assert!(
        err.contains("the partition aws-iso has no public AWS console"),
        "{err}"
    );
    assert_eq!(
        sts.requests().len(),
        before,
        "the iso role is never assumed"
    );
}

#[test]
fn the_default_endpoint_is_the_partitions_own() {
    // Through a proxy that refuses every CONNECT, the host asked for shows which endpoint
    // stsenv chose, without leaving the machine.
    let proxy = FakeHttp::start(|_, _| HttpResponse::text(403, "no"));
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts);
    env.set("HTTPS_PROXY", &proxy.url);
    for (arn, host) in [
        (
            "arn:aws:iam::123456789012:role/a",
            "signin.aws.amazon.com:443",
        ),
        (
            "arn:aws-us-gov:iam::123456789012:role/g",
            "signin.amazonaws-us-gov.com:443",
        ),
        (
            "arn:aws-cn:iam::123456789012:role/c",
            "signin.amazonaws.cn:443",
        ),
    ] {
        let err = assert_console_failure(&env.stsenv(&["console", arn, "-p", "base", "--print"]));
        let site = format!("https://{}", host.trim_end_matches(":443"));
        assert!(err.contains(&site), "{err}");
        let last = proxy.requests().pop().unwrap();
        assert_eq!(
            (last.method.as_str(), last.target.as_str()),
            ("CONNECT", host)
        );
    }
}

#[test]
fn verbose_names_the_steps_but_not_the_url() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    let out = env.stsenv(&[
        "-v",
        "console",
        "base",
        "--print",
        "--federation-url",
        &fed.url(),
    ]);
    let err = succeeded(&out);
    for step in [
        "GetFederationToken as stsenv-tester",
        "getSigninToken at http://127.0.0.1",
        "destination https://console.aws.amazon.com/console/home?region=us-east-1",
    ] {
        assert!(err.contains(step), "{step:?} missing: {err}");
    }
}

#[test]
fn print_writes_the_url_to_stdout_and_opens_nothing() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    let out = env.stsenv(&[
        "console",
        "deploy",
        "--print",
        "--federation-url",
        &fed.url(),
    ]);
    let err = succeeded(&out);
    assert_eq!(err, "", "--print says nothing");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1);
    assert_eq!(login_query(text.trim_end(), &fed.url())["Action"], "login");
    assert!(browser_urls(&env).is_empty());
}

#[test]
fn no_browser_and_no_display_show_the_url_but_never_on_stderr() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    // Without a terminal (as here), the URL goes to stdout.
    let out = env.stsenv(&[
        "console",
        "deploy",
        "--no-browser",
        "--federation-url",
        &fed.url(),
    ]);
    let err = succeeded(&out);
    assert!(err.contains("within 15 minutes"), "{err}");
    assert_eq!(
        login_query(stdout(&out).trim_end(), &fed.url())["Action"],
        "login"
    );
    assert!(browser_urls(&env).is_empty());

    // No $BROWSER and no display: the same, saying why.
    env.vars.retain(|(k, _)| k != "BROWSER");
    let out = env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]);
    let err = succeeded(&out);
    assert!(err.contains("no display to start a browser on"), "{err}");
    assert!(stdout(&out).contains("Action=login"));

    // A browser that fails: the URL is shown instead.
    env.set("BROWSER", "false");
    let out = env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]);
    let err = succeeded(&out);
    assert!(
        err.contains("could not start a browser: false failed"),
        "{err}"
    );
    assert!(stdout(&out).contains("Action=login"));
}

#[test]
fn no_browser_on_a_terminal_writes_the_url_to_the_terminal_only() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    let tty = Tmux::interactive(&env, &["sh"]);
    tty.type_line(&format!(
        "{} console deploy --no-browser --federation-url {} >\"$HOME/out\" 2>\"$HOME/err\"; echo FINISHED-$?",
        Sh::Dash.word(BIN),
        fed.url()
    ));
    tty.wait_for("FINISHED-0", 1);
    tty.wait_for("Action=login&Issuer=stsenv", 1);
    let read = |n: &str| std::fs::read_to_string(env.home().join(n)).unwrap();
    assert_eq!(
        read("out"),
        "",
        "stdout is not the terminal here: the URL skips it"
    );
    let err = read("err");
    assert_no_secrets(&err);
    assert!(
        !err.contains("Action=") && err.contains("15 minutes"),
        "{err}"
    );
}

#[test]
fn session_duration_is_sent_for_a_direct_role_and_left_out_for_a_chained_one() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    let out = env.stsenv(&[
        "console",
        "deploy",
        "-d",
        "2h",
        "--print",
        "--federation-url",
        &fed.url(),
    ]);
    let err = succeeded(&out);
    assert_eq!(err, "");
    assert_eq!(
        fed.sessions()[0].0.query("SessionDuration").as_deref(),
        Some("7200")
    );
    // --duration is the console's: the role's credentials are the usual ones.
    assert_eq!(sts.calls("AssumeRole")[0].param("DurationSeconds"), None);

    let out = env.stsenv(&[
        "console",
        "chained",
        "-d",
        "2h",
        "--print",
        "--federation-url",
        &fed.url(),
    ]);
    let err = succeeded(&out);
    assert!(
        err.contains("can't be chosen for role-chained credentials")
            && err.contains("--duration is left out"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(fed.sessions()[1].0.query("SessionDuration"), None);

    // More than a role's console session may last.
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "deploy",
        "-d",
        "13h",
        "--federation-url",
        &fed.url(),
    ]));
    assert!(err.contains("12 h"), "{err}");
}

#[test]
fn endpoint_failures_are_one_line_in_words() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for (status, said) in [
        (400, "HTTP 400 Bad Request): the credentials are expired, or of a kind the console does not take"),
        (403, "HTTP 403 Forbidden): the credentials are expired or no longer valid"),
        (500, "failed with HTTP 500 (a server error)"),
        (503, "failed with HTTP 503 (a server error)"),
    ] {
        let fed = Federation::failing(status);
        let err = assert_console_failure(&env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]));
        assert!(err.contains(said), "{status}: {err}");
        assert!(err.contains(&fed.http.url), "names the site: {err}");
        assert_eq!(fed.sessions().len(), 1);
    }
    // A 400 when a session length was asked for names it as a cause.
    let fed = Federation::failing(400);
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "deploy",
        "-d",
        "8h",
        "--federation-url",
        &fed.url(),
    ]));
    assert!(err.contains("a console session of 28800 s"), "{err}");

    let port = crate::common::moto::free_port();
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "deploy",
        "--federation-url",
        &format!("http://127.0.0.1:{port}/federation"),
    ]));
    assert!(
        err.contains(&format!("could not reach http://127.0.0.1:{port}")),
        "{err}"
    );
    assert!(browser_urls(&env).is_empty());
}

fn hook_line(env: &TestEnv, sh: Sh) -> String {
    match sh {
        Sh::Fish => format!("{} init fish | source", sh.word(BIN)),
        Sh::Nu => shells::nu_init(env, BIN),
        _ => format!("eval \"$({} init {})\"", sh.word(BIN), sh.program()),
    }
}

#[test]
fn assume_dash_c_in_the_hooks_assumes_here_and_opens_the_console() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let env = env_for(&sts);
    for sh in [Sh::Bash, Sh::Zsh, Sh::Fish, Sh::Nu] {
        for flag in ["-c", "--console"] {
            let _ = std::fs::remove_file(env.home().join("browser-urls"));
            let strict = match sh {
                Sh::Fish | Sh::Nu => "",
                _ => "set -u; ",
            };
            let script = format!(
                "{strict}{}; assume {flag} deploy --no-cache; {}",
                hook_line(&env, sh),
                sh.dump(&shells::vars())
            );
            let out = sh.run(&env, &script, &[("STSENV_FEDERATION_URL", &fed.url())]);
            assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
            let vars = shells::parse(&out.stdout);
            let akid = get(&vars, "AWS_ACCESS_KEY_ID").unwrap();
            assert!(akid.starts_with("AssumeRole"), "{sh:?}");
            assert_eq!(get(&vars, "STSENV_PROFILE").as_deref(), Some("deploy"));
            let urls = browser_urls(&env);
            assert_eq!(urls.len(), 1, "{sh:?} {flag}: {urls:?}");
            let (_, session) = fed.sessions().pop().unwrap();
            assert_eq!(session["sessionId"], akid.as_str(), "{sh:?}");
            assert_eq!(
                login_query(&urls[0], &fed.url())["Destination"],
                "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
            );
            assert!(stderr(&out).contains("opened the AWS console for deploy"));
        }
        // A failed assume opens nothing and changes nothing.
        let _ = std::fs::remove_file(env.home().join("browser-urls"));
        let script = match sh {
            Sh::Nu => format!(
                "{}; try {{ assume -c nosuch }} catch {{ }}; print $'rc=($env.LAST_EXIT_CODE)'",
                hook_line(&env, sh)
            ),
            _ => {
                let status = if sh == Sh::Fish { "$status" } else { "$?" };
                format!(
                    "{}; assume -c nosuch 2>/dev/null; echo rc={status}",
                    hook_line(&env, sh)
                )
            }
        };
        let out = sh.run(&env, &script, &[("STSENV_FEDERATION_URL", &fed.url())]);
        assert!(
            stdout(&out).contains("rc=") && !stdout(&out).contains("rc=0"),
            "{sh:?}: {}",
            stdout(&out)
        );
        assert!(browser_urls(&env).is_empty(), "{sh:?}");
    }
}

/// The browser is handed a one-time link on 127.0.0.1, never the sign-in URL: the link
/// redirects once to the sign-in URL, then nothing answers there; and the browser gets none
/// of the shell's AWS credentials in its environment.
#[test]
fn the_browser_gets_a_one_time_link_that_works_once() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    register_secret("shell-secret-in-the-env-1234");
    env.set("AWS_ACCESS_KEY_ID", "ASIASHELLKEY")
        .set("AWS_SECRET_ACCESS_KEY", "shell-secret-in-the-env-1234")
        .set("AWS_SESSION_TOKEN", "shell-token-in-the-env-5678");
    let out = env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]);
    let err = succeeded(&out);
    assert!(err.contains("with record-url"), "{err}");
    let args = browser_args(&env);
    assert_eq!(args.len(), 1, "{args:?}");
    assert_eq!(args[0].len(), 1, "{args:?}");
    assert_one_time_link(&args[0][0]);
    let urls = browser_urls(&env);
    let q = login_query(&urls[0], &fed.url());
    assert!(q["SigninToken"].starts_with("SigninToken-"), "{q:?}");
    assert_eq!(lines_of(&env, "browser-again"), ["refused"]);
    let browser_env = lines_of(&env, "browser-env").join("\n");
    for s in [
        "SigninToken",
        "shell-secret-in-the-env",
        "shell-token-in-the-env",
    ] {
        assert!(!browser_env.contains(s), "{s} in the browser's environment");
    }
    assert!(browser_env.contains("\"HOME\""), "the rest is there");
}

/// A browser that never comes for the link: stsenv gives up after the link's lifetime
/// (shortened by the test hook), having signed nothing in.
#[test]
fn a_browser_that_never_comes_fails_after_the_links_lifetime() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    env.set("BROWSER", "true")
        .set("STSENV_ONE_TIME_URL_MS", "300");
    let started = std::time::Instant::now();
    let err =
        assert_console_failure(&env.stsenv(&["console", "deploy", "--federation-url", &fed.url()]));
    assert!(
        err.contains("true did not come for the one-time sign-in link within 0.3 s")
            && err.contains("--print"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// A PATH with only these fake browsers (stsenv itself needs no PATH).
fn with_fake_browsers(env: &mut TestEnv, names: &[&str]) {
    for n in names {
        fake_browser(env, &format!("bin/{n}"));
    }
    let bin = env.home().join("bin");
    env.set("PATH", bin.to_str().unwrap());
    env.vars.retain(|(k, _)| k != "BROWSER");
}

fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn isolate_starts_a_chromium_in_the_profiles_own_folder_and_lists_and_forgets_it() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    with_fake_browsers(&mut env, &["brave-browser"]);
    let data = env.home().join("data");
    env.set("XDG_DATA_HOME", data.to_str().unwrap())
        .set("STSENV_FEDERATION_URL", &fed.url())
        .set("STSENV_CHROMIUM_FLAGS", "--flag-a '--flag-b=x y'");
    let out = env.stsenv(&["console", "deploy", "--isolate"]);
    let err = succeeded(&out);
    let dir = data.join("stsenv/browser/deploy");
    assert!(
        err.contains(&format!(
            "opened the AWS console for deploy with brave, in a browser context of its own ({})",
            dir.display()
        )),
        "{err}"
    );
    let args = browser_args(&env).pop().unwrap();
    assert_one_time_link(&args[6]);
    assert_eq!(
        args[..6],
        [
            format!("--user-data-dir={}", dir.display()),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-search-engine-choice-screen".into(),
            "--flag-a".into(),
            "--flag-b=x y".into(),
        ]
    );
    assert_eq!(args.len(), 7);
    for d in [
        data.join("stsenv"),
        data.join("stsenv/browser"),
        dir.clone(),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("stsenv-profile")).unwrap(),
        "deploy"
    );
    assert!(login_query(&browser_urls(&env)[0], &fed.url())["Action"] == "login");

    // A role ARN's context is its account's; the shell's credentials', STSENV_PROFILE's.
    let arn = role_arn("other");
    succeeded(&env.stsenv(&[
        "console",
        &arn,
        "-p",
        "base",
        "--isolate",
        "--browser",
        "brave",
    ]));
    let args = browser_args(&env).pop().unwrap();
    let account_dir = data.join("stsenv/browser/123456789012");
    assert_eq!(
        args[0],
        format!("--user-data-dir={}", account_dir.display())
    );
    let mut shell = TestEnv::new();
    shell.vars = env.vars.clone();
    shell
        .set("AWS_ACCESS_KEY_ID", "AssumeRole7")
        .set("AWS_SECRET_ACCESS_KEY", "SECRET7")
        .set("AWS_SESSION_TOKEN", "TOKEN7")
        .set("STSENV_PROFILE", "Prod Admin")
        .set("HOME", env.home().to_str().unwrap());
    succeeded(&shell.stsenv(&["console", "--isolate", "--browser", "brave"]));
    let args = browser_args(&env).pop().unwrap();
    let prod_dir = data.join("stsenv/browser/prod-admin-665e72865235");
    assert_eq!(args[0], format!("--user-data-dir={}", prod_dir.display()));
    // Without STSENV_PROFILE (nor STSENV_ROLE_ARN) the context has no name.
    shell.vars.retain(|(k, _)| k != "STSENV_PROFILE");
    let err =
        assert_console_failure(&shell.stsenv(&["console", "--isolate", "--browser", "brave"]));
    assert!(err.contains("name the target"), "{err}");

    let listed = env.stsenv(&["console", "--list-contexts"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let rows: Vec<Vec<String>> = stdout(&listed)
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.trim().is_empty())
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["PROFILE".to_string(), "OPEN".into(), "FOLDER".into()],
            vec!["123456789012".into(), account_dir.display().to_string()],
            vec!["Prod Admin".into(), prod_dir.display().to_string()],
            vec!["deploy".into(), dir.display().to_string()],
        ]
    );
    let gone = env.stsenv(&["console", "--forget", "Prod Admin"]);
    assert!(gone.status.success(), "{}", stderr(&gone));
    assert!(stderr(&gone).contains("forgot the browser context of Prod Admin"));
    assert!(!prod_dir.exists() && dir.exists() && account_dir.exists());
    let err = assert_console_failure(&env.stsenv(&["console", "--forget", "Prod Admin"]));
    assert!(
        err.contains("there is no browser context of Prod Admin"),
        "{err}"
    );
}

/// Firefox: a container per profile through the extension's URL scheme, the one-time link
/// inside it (unit tests pin the URL byte for byte; here it is what Firefox is given).
#[test]
fn firefox_gets_the_container_extensions_url_around_the_one_time_link() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    with_fake_browsers(&mut env, &["firefox"]);
    env.set("STSENV_FEDERATION_URL", &fed.url());
    env.write(
        ".aws/config",
        &format!(
            "[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = eu-west-1\nstsenv_console_isolate = true\nstsenv_browser = firefox\n",
            role_arn("deploy")
        ),
    );
    let check = |env: &TestEnv, args: &[&str], scheme: &str| {
        let err = succeeded(&env.stsenv(args));
        assert!(
            err.contains("with firefox") && err.contains("in its container 'deploy'"),
            "{err}"
        );
        let argv = browser_args(env).pop().unwrap();
        assert_eq!(argv.len(), 2, "{argv:?}");
        assert_eq!(argv[0], "--new-tab");
        let rest = argv[1]
            .strip_prefix(scheme)
            .unwrap_or_else(|| panic!("{argv:?}"));
        let color = stsenv::browser_context::container_color("deploy");
        let (url, tail) = rest
            .strip_prefix("name=deploy&url=")
            .and_then(|r| r.split_once('&'))
            .unwrap();
        assert_eq!(tail, format!("color={color}&icon=fingerprint"));
        assert!(!url.contains(':') && !url.contains('/'), "encoded: {url}");
        assert_one_time_link(&fake_http::decode(url));
        assert!(!argv[1].contains("SigninToken"));
        let q = login_query(&browser_urls(env).pop().unwrap(), &fed.url());
        assert_eq!(q["Action"], "login");
    };
    // The profile's keys.
    check(&env, &["console", "deploy"], "ext+granted-containers:");
    // The flag, and STSENV_CONSOLE_ISOLATE, without the keys.
    env.write(
        ".aws/config",
        &format!(
            "[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = eu-west-1\n",
            role_arn("deploy")
        ),
    );
    env.set("STSENV_CONSOLE_ISOLATE", "1");
    check(
        &env,
        &["console", "deploy", "--browser", "firefox-container"],
        "ext+container:",
    );
    // No Chromium folder for a container.
    assert!(!env
        .home()
        .join(".local/share/stsenv/browser/deploy")
        .exists());
}

/// A browser that is named but not installed, or none to isolate in: one line, non-zero, and
/// nothing asked of STS or the federation endpoint, no folder made.
#[test]
fn a_missing_browser_is_one_line_before_any_request() {
    let sts = FakeSts::numbered(3600);
    let fed = Federation::start(&[]);
    let mut env = env_for(&sts);
    with_fake_browsers(&mut env, &[]);
    std::fs::create_dir_all(env.home().join("bin")).unwrap();
    env.set("STSENV_FEDERATION_URL", &fed.url());
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "deploy",
        "--isolate",
        "--browser",
        "vivaldi",
    ]));
    assert_eq!(
        err,
        "stsenv: --browser vivaldi: vivaldi is not installed (no vivaldi-stable or vivaldi found); `stsenv console --print` prints the sign-in URL instead, for you to open in any browser\n"
    );
    let err = assert_console_failure(&env.stsenv(&["console", "deploy", "--isolate"]));
    assert!(
        err.contains("no browser for --isolate: none of chromium, chrome, brave, edge, vivaldi, firefox is installed")
            && err.contains("--print"),
        "{err}"
    );
    let err = assert_console_failure(&env.stsenv(&[
        "console",
        "deploy",
        "--isolate",
        "--browser",
        "default",
    ]));
    assert!(err.contains("name the browser"), "{err}");
    env.set("BROWSER", "record-url");
    let err = assert_console_failure(&env.stsenv(&["console", "deploy", "--isolate"]));
    assert!(
        err.contains("$BROWSER can't keep a context of its own"),
        "{err}"
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile deploy]\nrole_arn = {}\nsource_profile = base\n\n[default]\nstsenv_browser = edge\n",
            role_arn("deploy")
        ),
    );
    let err = assert_console_failure(&env.stsenv(&["console", "deploy", "--isolate"]));
    assert!(
        err.starts_with("stsenv: stsenv_browser = edge (profile default): edge is not installed (no microsoft-edge-stable or microsoft-edge found)"),
        "{err}"
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile deploy]\nrole_arn = {}\nsource_profile = base\nstsenv_browser = safari\nstsenv_console_isolate = maybe\n",
            role_arn("deploy")
        ),
    );
    let err = assert_console_failure(&env.stsenv(&["console", "deploy", "--isolate"]));
    assert!(
        err.contains("stsenv_browser is 'safari', not one of chromium"),
        "{err}"
    );
    let err = assert_console_failure(&env.stsenv(&["console", "deploy"]));
    assert!(
        err.contains("stsenv_console_isolate is 'maybe', not true or false"),
        "{err}"
    );
    assert!(
        sts.requests().is_empty(),
        "no request before the browser is known"
    );
    assert!(fed.sessions().is_empty());
    assert!(
        !env.home().join(".local/share/stsenv").exists(),
        "no folder made"
    );
}
