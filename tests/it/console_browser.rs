//! `stsenv console` with a real browser: Debian's headless Chromium, started by stsenv as a
//! user's would be. The fake federation endpoint answers the sign-in URL by setting a session
//! cookie for the account of the token and redirecting to a fake console page whose title
//! says which account it is signed in as.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::chromium::{self, *};
use crate::common::fake_http::{FakeHttp, HttpRequest, HttpResponse};
use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::*;

const PROD: &str = "111111111111";
const DEV: &str = "222222222222";

/// The federation endpoint and the console behind it, on one port.
struct Console {
    http: FakeHttp,
    /// Sign-in tokens not used yet, and their account.
    open: Arc<Mutex<HashMap<String, String>>>,
    /// Every token issued, with its account, in order.
    issued: Arc<Mutex<Vec<(String, String)>>>,
}

impl Console {
    fn start() -> Console {
        let open: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let issued: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (o, i) = (open.clone(), issued.clone());
        let http = FakeHttp::start(move |req, n| match req.path() {
            "/federation" => match req.query("Action").as_deref() {
                // Credentials of the accounts STS (below) hands out: `ASIA<account>`.
                Some("getSigninToken") => {
                    let session: serde_json::Value = req
                        .query("Session")
                        .and_then(|s| serde_json::from_str(&s).ok())
                        .unwrap_or_default();
                    let id = session["sessionId"].as_str().unwrap_or("");
                    let Some(account) = id.strip_prefix("ASIA").filter(|a| a.len() == 12) else {
                        return HttpResponse::text(400, "Invalid credentials parameter");
                    };
                    let token = issue(&o, &i, account, n);
                    HttpResponse::json(200, &serde_json::json!({ "SigninToken": token }))
                }
                Some("login") => {
                    let account = req
                        .query("SigninToken")
                        .and_then(|t| o.lock().unwrap().remove(&t));
                    match account {
                        Some(a) => HttpResponse::text(302, "")
                            .header("Location", "/console")
                            // Persistent: Chromium keeps no session cookie across restarts.
                            .header(
                                "Set-Cookie",
                                &format!("acct={a}; Max-Age=3600; Path=/; HttpOnly"),
                            ),
                        None => HttpResponse::text(400, "bad sign-in token"),
                    }
                }
                _ => HttpResponse::text(404, "no"),
            },
            "/console" => {
                let who = signed_in_as(req)
                    .map(|a| format!("signed in as {a}"))
                    .unwrap_or_else(|| "not signed in".into());
                HttpResponse::text(200, &format!("<!doctype html><title>{who}</title><p>{who}"))
                    .header("Content-Type", "text/html")
                    .header("Cache-Control", "no-store")
            }
            _ => HttpResponse::text(404, "no"),
        });
        Console { http, open, issued }
    }

    fn federation(&self) -> String {
        format!("{}/federation", self.http.url)
    }

    fn page(&self) -> String {
        format!("{}/console", self.http.url)
    }

    /// A token as getSigninToken gives it, for a browser the test signs in itself.
    fn issue(&self, account: &str) -> String {
        issue(&self.open, &self.issued, account, 0)
    }

    fn login_url(&self, token: &str) -> String {
        format!(
            "{}?Action=login&Issuer=stsenv&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken={token}",
            self.federation()
        )
    }

    /// The last token issued for `account`.
    fn token_of(&self, account: &str) -> String {
        let issued = self.issued.lock().unwrap();
        let (_, t) = issued.iter().rev().find(|(a, _)| a == account).unwrap();
        t.clone()
    }

    /// The sign-in requests of `token`.
    fn logins(&self, token: &str) -> Vec<HttpRequest> {
        self.http
            .to("/federation")
            .into_iter()
            .filter(|r| r.query("SigninToken").as_deref() == Some(token))
            .filter(|r| r.query("Action").as_deref() == Some("login"))
            .collect()
    }

    /// stsenv is done once the browser took the one-time redirect: the sign-in itself (the
    /// federation endpoint, then the console page) may still be under way.
    fn wait_signed_in(&self, token: &str) {
        wait_until(
            "the sign-in to land on the console",
            Duration::from_secs(20),
            || {
                let seen = self.http.requests();
                seen.iter()
                    .position(|r| {
                        r.path() == "/federation"
                            && r.query("SigninToken").as_deref() == Some(token)
                    })
                    .is_some_and(|i| seen[i + 1..].iter().any(|r| r.path() == "/console"))
            },
        );
    }
}

fn issue(
    open: &Mutex<HashMap<String, String>>,
    issued: &Mutex<Vec<(String, String)>>,
    account: &str,
    n: usize,
) -> String {
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random).unwrap();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("SigninToken-{account}-{n}-{hex}");
    register_secret(&token);
    open.lock().unwrap().insert(token.clone(), account.into());
    issued.lock().unwrap().push((account.into(), token.clone()));
    token
}

fn signed_in_as(req: &HttpRequest) -> Option<String> {
    req.header("cookie")?
        .split("; ")
        .find_map(|c| c.strip_prefix("acct="))
        .map(String::from)
}

/// An STS whose credentials name the role's account (`ASIA<account>`).
fn sts() -> FakeSts {
    FakeSts::start(|req, n| {
        let account = req
            .param("RoleArn")
            .and_then(|a| a.split(':').nth(4))
            .unwrap_or("000000000000")
            .to_string();
        let secret = format!("sts-secret-{account}-{n}");
        let token = format!("sts-token-{account}-{n}");
        register_secret(&secret);
        register_secret(&token);
        Reply::creds(&format!("ASIA{account}"), &secret, &token)
    })
}

/// Profiles prod and dev (roles of two accounts, from `base`'s keys), STS and the federation
/// endpoint at the fakes, and the headless flags through the test hook.
fn env_for(sts: &FakeSts, console: &Console) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile prod]\nrole_arn = arn:aws:iam::{PROD}:role/admin\nsource_profile = base\nregion = eu-west-1\n\n\
         [profile dev]\nrole_arn = arn:aws:iam::{DEV}:role/admin\nsource_profile = base\nregion = eu-west-1\n"
    ));
    env.set("AWS_ENDPOINT_URL", &sts.url)
        .set("STSENV_FEDERATION_URL", &console.federation())
        .set("STSENV_CHROMIUM_FLAGS", &chromium::test_flags());
    env
}

fn context(env: &TestEnv, name: &str) -> PathBuf {
    env.home().join(".local/share/stsenv/browser").join(name)
}

/// `stsenv console PROFILE --isolate`, and its browser signed in; returns the sign-in token.
fn open(env: &TestEnv, console: &Console, profile: &str, account: &str) -> String {
    let out = env.stsenv(&["console", profile, "--isolate"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(stdout(&out), "");
    assert!(
        err.contains(&format!(
            "opened the AWS console for {profile} with chromium, in a browser context of its own ({})",
            context(env, profile).display()
        )),
        "{err}"
    );
    let token = console.token_of(account);
    console.wait_signed_in(&token);
    token
}

/// The check of /proc is not blind: it finds a secret where one is.
#[test]
fn the_scan_sees_a_secret_in_a_command_line_and_an_environment() {
    use std::os::unix::process::CommandExt;
    let mut sleeper = std::process::Command::new("sleep")
        .arg0("SigninToken-positive-control-argv")
        .arg("30")
        .env("X", "SigninToken-positive-control-env")
        .spawn()
        .unwrap();
    let pid = sleeper.id().to_string();
    let mut found = Vec::new();
    wait_until("the scan to see it", Duration::from_secs(5), || {
        found = holding(&[
            "SigninToken-positive-control-argv",
            "SigninToken-positive-control-env",
        ]);
        found.len() >= 2
    });
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(found.contains(&format!("{pid} cmdline")), "{found:?}");
    assert!(found.contains(&format!("{pid} environ")), "{found:?}");
}

#[test]
fn two_profiles_stay_signed_in_side_by_side_and_the_default_context_is_untouched() {
    let _one = serial();
    chromium::chromium();
    let (sts, console) = (sts(), Console::start());
    let env = env_for(&sts, &console);
    let _browsers = Browsers::under(env.home());
    // The browser's own context is signed in to an account of the user's already.
    let usual = env.home().join(".config/chromium");
    let mine = console.issue("999999999999");
    assert_eq!(
        title_at(&env, &usual, &console.login_url(&mine)),
        "signed in as 999999999999"
    );

    let t1 = open(&env, &console, "prod", PROD);
    let t2 = open(&env, &console, "dev", DEV);
    let (prod, dev) = (context(&env, "prod"), context(&env, "dev"));

    // While both run: no sign-in token in any process's command line or environment, though
    // each browser is many processes.
    let (_, n_prod) = browser_of(&prod).expect("prod's browser runs");
    let (_, n_dev) = browser_of(&dev).expect("dev's browser runs");
    assert!(n_prod >= 3 && n_dev >= 3, "{n_prod}, {n_dev} processes");
    let found = holding(&[&t1, &t2]);
    assert!(found.is_empty(), "sign-in token in {found:?}");

    // Each context, asked for the console after both were opened, is signed in as its own.
    assert_eq!(
        open_in_running(&prod, &console.page()),
        format!("signed in as {PROD}")
    );
    assert_eq!(
        open_in_running(&dev, &console.page()),
        format!("signed in as {DEV}")
    );

    // The one-time links were used once and now find nothing; each sign-in URL was
    // followed once.
    for udd in [&prod, &dev] {
        let link = link_of(udd);
        let (port, path) = link
            .strip_prefix("http://127.0.0.1:")
            .and_then(|r| r.split_once('/'))
            .unwrap();
        let again = chromium::http("GET", port.parse().unwrap(), &format!("/{path}"));
        assert!(
            matches!(&again, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{again:?}"
        );
    }
    for t in [&t1, &t2] {
        assert_eq!(console.logins(t).len(), 1);
    }

    close(&prod);
    close(&dev);
    // The browser's own context is still signed in as it was, and each kept context still
    // as its own, on disk.
    let at = |udd: &Path| title_at(&env, udd, &console.page());
    assert_eq!(at(&usual), "signed in as 999999999999");
    assert_eq!(at(&prod), format!("signed in as {PROD}"));
    assert_eq!(at(&dev), format!("signed in as {DEV}"));
}

#[test]
fn a_context_is_reused_on_the_second_run_and_forget_removes_it() {
    use std::os::unix::fs::MetadataExt;
    let _one = serial();
    chromium::chromium();
    let (sts, console) = (sts(), Console::start());
    let env = env_for(&sts, &console);
    let _browsers = Browsers::under(env.home());
    let first = open(&env, &console, "prod", PROD);
    let prod = context(&env, "prod");
    assert_eq!(
        signed_in_as(&console.logins(&first)[0]),
        None,
        "a new context"
    );
    close(&prod);
    let ino = std::fs::metadata(&prod).unwrap().ino();

    // The second run: the same folder, with the cookies of the first sign-in.
    let second = open(&env, &console, "prod", PROD);
    assert_eq!(std::fs::metadata(&prod).unwrap().ino(), ino);
    assert_eq!(
        signed_in_as(&console.logins(&second)[0]).as_deref(),
        Some(PROD),
        "the sign-in came from the context of the first run"
    );
    let (pid, _) = browser_of(&prod).unwrap();
    let listed = env.stsenv(&["console", "--list-contexts"]);
    let text = stdout(&listed);
    let row = text.lines().find(|l| l.starts_with("prod ")).unwrap_or("");
    assert!(
        row.contains(&format!("pid {pid}")) && row.contains(prod.to_str().unwrap()),
        "{text}"
    );

    // Not while its browser is open; then it goes.
    let busy = env.stsenv(&["console", "--forget", "prod"]);
    assert!(!busy.status.success());
    assert!(
        stderr(&busy).contains(&format!("is open (its browser runs as pid {pid})")),
        "{}",
        stderr(&busy)
    );
    assert!(prod.exists());
    close(&prod);
    let gone = env.stsenv(&["console", "--forget", "prod"]);
    assert!(gone.status.success(), "{}", stderr(&gone));
    assert!(!prod.exists());
    let listed = env.stsenv(&["console", "--list-contexts"]);
    assert_eq!(stdout(&listed), "");
}

/// Without --isolate too, the browser ($BROWSER here: Chromium run directly, in a folder of
/// the test's) gets only the one-time link.
#[test]
fn the_usual_browser_gets_a_one_time_link_too() {
    let _one = serial();
    let real = chromium::chromium();
    let (sts, console) = (sts(), Console::start());
    let mut env = env_for(&sts, &console);
    let _browsers = Browsers::under(env.home());
    let udd = env.home().join("users-own-browser");
    env.set(
        "BROWSER",
        &format!(
            "{} {} --user-data-dir={} %s",
            real.display(),
            chromium::test_flags(),
            udd.display()
        ),
    );
    let out = env.stsenv(&["console", "dev"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("opened the AWS console for dev with chromium"),
        "{err}"
    );
    let token = console.token_of(DEV);
    console.wait_signed_in(&token);
    assert!(browser_of(&udd).is_some());
    let found = holding(&[&token]);
    assert!(found.is_empty(), "sign-in token in {found:?}");
    assert_eq!(
        open_in_running(&udd, &console.page()),
        format!("signed in as {DEV}")
    );
    assert!(
        !context(&env, "dev").exists(),
        "no context of stsenv's without --isolate"
    );
}
