//! Profiles and MFA as the AWS CLI and the SDKs resolve them (the cross-SDK assume-role
//! conformance cases and more), table-driven against the fake STS: every call gets its own
//! numbered credentials, so each case can see which keys signed each hop.

use crate::common::fake_http::{FakeHttp, HttpResponse};
use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::*;

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

/// Static keys for profile `name`: `AKIA<NAME>` and a secret the suite checks stderr for.
fn keys(name: &str) -> String {
    let secret = format!("secret-of-{name}-0123456789");
    register_secret(&secret);
    format!(
        "aws_access_key_id = AKIA{}\naws_secret_access_key = {secret}\n",
        name.to_uppercase()
    )
}

fn role(name: &str) -> String {
    format!("role_arn = {}\n", role_arn(name))
}

/// What a case expects: the STS calls in order (action, role name, the access key that
/// signed it, or None for an unsigned call), or a failure whose one line holds a text.
enum Expect {
    Calls(Vec<(&'static str, Option<&'static str>, Option<&'static str>)>),
    Fails(&'static str, &'static [&'static str]),
}

struct Case {
    name: &'static str,
    config: String,
    env: Vec<(&'static str, String)>,
    args: Vec<String>,
    expect: Expect,
}

fn case(name: &'static str, config: String, target: &str, expect: Expect) -> Case {
    Case {
        name,
        config,
        env: Vec::new(),
        args: vec![target.to_string()],
        expect,
    }
}

/// Runs one case against an STS of its own (numbered from 0); returns it for a closer look.
fn run(c: &Case) -> FakeSts {
    let sts = FakeSts::numbered(3600);
    let mut env = TestEnv::new();
    env.write(".aws/config", &c.config);
    env.write("token.jwt", "header.payload.signature");
    for (k, v) in &c.env {
        env.set(k, v);
    }
    let mut args: Vec<&str> = vec!["assume"];
    args.extend(c.args.iter().map(String::as_str));
    args.extend(["--endpoint-url", &sts.url, "-s", "bash", "--no-cache"]);
    let out = env.stsenv(&args);
    let calls = sts.requests();
    match &c.expect {
        Expect::Calls(want) => {
            assert!(out.status.success(), "{}: {}", c.name, stderr(&out));
            let got: Vec<(String, Option<String>, Option<String>)> = calls
                .iter()
                .map(|r| {
                    let role = r
                        .param("RoleArn")
                        .map(|a| a.rsplit('/').next().unwrap().to_string());
                    let key = r
                        .authorization
                        .split("Credential=")
                        .nth(1)
                        .and_then(|c| c.split('/').next())
                        .map(String::from);
                    (r.action().to_string(), role, key)
                })
                .collect();
            let want: Vec<(String, Option<String>, Option<String>)> = want
                .iter()
                .map(|(a, r, k)| (a.to_string(), r.map(String::from), k.map(String::from)))
                .collect();
            assert_eq!(got, want, "{}", c.name);
        }
        Expect::Fails(text, not) => {
            let err = assert_clean_failure(&out, &[]);
            assert!(
                err.contains(text),
                "{}: expected {text:?} in: {err}",
                c.name
            );
            for n in *not {
                assert!(!err.contains(n), "{}: {n:?} in: {err}", c.name);
            }
            for bad in [
                "ProfileFile provider",
                "credentials provider was not",
                "cannot read the AWS config",
            ] {
                assert!(!err.contains(bad), "{}: SDK words in: {err}", c.name);
            }
        }
    }
    sts
}

#[test]
fn profile_chains_resolve_as_the_aws_cli_does() {
    let ecs = FakeHttp::start(|_, _| {
        HttpResponse::json(
            200,
            &serde_json::json!({
                "AccessKeyId": "AKIAFROMECS",
                "SecretAccessKey": "ecs-secret-value-0123",
                "Token": "ecs-token-value-0123",
                "Expiration": stsenv::time::rfc3339(stsenv::time::now() + 3600),
            }),
        )
    });
    let imds = FakeHttp::start(|r, _| match (r.method.as_str(), r.path()) {
        ("PUT", "/latest/api/token") => HttpResponse::text(200, "imds-session-token")
            .header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
        ("GET", "/latest/meta-data/iam/security-credentials/") => {
            HttpResponse::text(200, "the-role")
        }
        ("GET", "/latest/meta-data/iam/security-credentials/the-role") => HttpResponse::json(
            200,
            &serde_json::json!({
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": "AKIAFROMIMDS",
                "SecretAccessKey": "imds-secret-value-0123",
                "Token": "imds-token-value-0123",
                "Expiration": stsenv::time::rfc3339(stsenv::time::now() + 3600),
                "LastUpdated": stsenv::time::rfc3339(stsenv::time::now()),
            }),
        ),
        _ => HttpResponse::text(404, "not found"),
    });
    let ar = "AssumeRole";
    let wi = "AssumeRoleWithWebIdentity";
    let gst = "GetSessionToken";
    let mut cases = vec![
        case(
            "basic",
            format!("[profile A]\n{}source_profile = B\n[profile B]\n{}", role("RoleA"), keys("b")),
            "A",
            Expect::Calls(vec![(ar, Some("RoleA"), Some("AKIAB"))]),
        ),
        case(
            "the selected profile's own keys are ignored when it has a source_profile",
            format!("[profile A]\n{}{}source_profile = B\n[profile B]\n{}", keys("a"), role("RoleA"), keys("b")),
            "A",
            Expect::Calls(vec![(ar, Some("RoleA"), Some("AKIAB"))]),
        ),
        case(
            "self-referencing profile uses its own keys",
            format!("[profile A]\n{}{}source_profile = A\n", keys("a"), role("RoleA")),
            "A",
            Expect::Calls(vec![(ar, Some("RoleA"), Some("AKIAA"))]),
        ),
        case(
            "a source profile with static keys stops the walk (its role is not assumed)",
            format!(
                "[profile A]\n{}source_profile = B\n[profile B]\n{}source_profile = C\n{}[profile C]\n{}",
                role("RoleA"), role("RoleB"), keys("b"), keys("c")
            ),
            "A",
            Expect::Calls(vec![(ar, Some("RoleA"), Some("AKIAB"))]),
        ),
        case(
            "static keys stop the walk at the third profile too",
            format!(
                "[profile A]\n{}source_profile = B\n[profile B]\n{}source_profile = C\n[profile C]\n{}source_profile = D\n{}[profile D]\n{}",
                role("RoleA"), role("RoleB"), role("RoleC"), keys("c"), keys("d")
            ),
            "A",
            Expect::Calls(vec![(ar, Some("RoleB"), Some("AKIAC")), (ar, Some("RoleA"), Some("AssumeRole0"))]),
        ),
        case(
            "multiple chained roles",
            format!(
                "[profile A]\n{}source_profile = B\n[profile B]\n{}source_profile = C\n[profile C]\n{}",
                role("RoleA"), role("RoleB"), keys("c")
            ),
            "A",
            Expect::Calls(vec![(ar, Some("RoleB"), Some("AKIAC")), (ar, Some("RoleA"), Some("AssumeRole0"))]),
        ),
        case(
            "a loop is an error",
            format!("[profile A]\n{}source_profile = B\n[profile B]\n{}source_profile = A\n", role("RoleA"), role("RoleB")),
            "A",
            Expect::Fails("source_profile loop: A -> B -> A", &[]),
        ),
        case(
            "a loop through profiles with static keys is still an error",
            format!("[profile A]\n{}{}source_profile = B\n[profile B]\n{}source_profile = A\n", role("RoleA"), keys("a"), role("RoleB")),
            "A",
            Expect::Fails("source_profile loop", &[]),
        ),
        case(
            "web identity as the target",
            format!("[profile A]\n{}web_identity_token_file = ~/token.jwt\nrole_session_name = ci-run\n", role("RoleA")),
            "A",
            Expect::Calls(vec![(wi, Some("RoleA"), None)]),
        ),
        case(
            "web identity as a source",
            format!(
                "[profile A]\n{}source_profile = B\n[profile B]\n{}web_identity_token_file = ~/token.jwt\n",
                role("RoleA"), role("RoleB")
            ),
            "A",
            Expect::Calls(vec![(wi, Some("RoleB"), None), (ar, Some("RoleA"), Some("AssumeRoleWithWebIdentity0"))]),
        ),
        case(
            "web identity without role_arn",
            "[profile A]\nweb_identity_token_file = ~/token.jwt\n".to_string(),
            "A",
            Expect::Fails("profile 'A': web_identity_token_file is set but role_arn is not", &[]),
        ),
        case(
            "credential_source = EcsContainer",
            format!("[profile A]\n{}credential_source = EcsContainer\n", role("RoleA")),
            "A",
            Expect::Calls(vec![(ar, Some("RoleA"), Some("AKIAFROMECS"))]),
        ),
        case(
            "credential_source = Ec2InstanceMetadata",
            format!("[profile A]\n{}credential_source = Ec2InstanceMetadata\n", role("RoleA")),
            "A",
            Expect::Calls(vec![(ar, Some("RoleA"), Some("AKIAFROMIMDS"))]),
        ),
        case(
            "credential_source = Environment with nothing set",
            format!("[profile A]\n{}credential_source = Environment\n", role("RoleA")),
            "A",
            Expect::Fails("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", &[]),
        ),
        case(
            "a missing source profile is named as the source_profile of the profile",
            format!("[profile Alpha]\n{}source_profile = Alph\n", role("RoleA")),
            "Alpha",
            Expect::Fails("profile 'Alph' (the source_profile of 'Alpha') not found", &["did you mean 'Alpha'"]),
        ),
        case(
            "a source profile with half a key pair",
            format!("[profile A]\n{}source_profile = B\n[profile B]\naws_access_key_id = AKIAHALF\n", role("RoleA")),
            "A",
            Expect::Fails("profile 'B': aws_access_key_id is set but aws_secret_access_key is not", &[]),
        ),
        case(
            "a source profile without credentials",
            format!("[profile A]\n{}source_profile = B\n[profile B]\nregion = eu-west-1\n", role("RoleA")),
            "A",
            Expect::Fails("of profile 'B': it has no credentials", &[]),
        ),
        case(
            "duration_seconds the AWS CLI would not accept",
            format!("[profile A]\n{}source_profile = B\nduration_seconds = 1h\n[profile B]\n{}", role("RoleA"), keys("b")),
            "A",
            Expect::Fails("profile 'A': duration_seconds '1h' is not a whole number of seconds", &[]),
        ),
        case(
            "an invalid role_arn in a profile",
            format!("[profile A]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = B\n[profile B]\n{}", keys("b")),
            "A",
            Expect::Fails("profile 'A': role_arn 'arn:aws:iam::1:role/x' is not a role ARN", &[]),
        ),
        case(
            "MFA on a profile without a role gets an MFA session",
            format!("[profile U]\n{}mfa_serial = {SERIAL}\n", keys("u")),
            "U",
            Expect::Calls(vec![(gst, None, Some("AKIAU"))]),
        ),
        case(
            "MFA for a role over one hour goes on the AssumeRole itself",
            format!("[profile R]\n{}source_profile = U\nmfa_serial = {SERIAL}\n[profile U]\n{}", role("RoleR"), keys("u")),
            "R",
            Expect::Calls(vec![(ar, Some("RoleR"), Some("AKIAU"))]),
        ),
        case(
            "MFA for a role of an hour or less uses the MFA session",
            format!("[profile R]\n{}source_profile = U\nmfa_serial = {SERIAL}\n[profile U]\n{}", role("RoleR"), keys("u")),
            "R",
            Expect::Calls(vec![(gst, None, Some("AKIAU")), (ar, Some("RoleR"), Some("GetSessionToken0"))]),
        ),
    ];
    for c in cases.iter_mut() {
        match c.name {
            "credential_source = EcsContainer" => {
                c.env.push((
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    format!("{}/creds", ecs.url),
                ));
            }
            "credential_source = Ec2InstanceMetadata" => {
                c.env.push(("AWS_EC2_METADATA_DISABLED", "false".into()));
                c.env
                    .push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url.clone()));
            }
            "web identity as the target" => {
                // The profile wins over the environment's web identity.
                c.env.push(("AWS_ROLE_ARN", role_arn("FromEnv")));
                c.env
                    .push(("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent".into()));
            }
            name if name.starts_with("MFA") => {
                c.args.extend(["--token-code".into(), "123456".into()]);
                if name.contains("over one hour") {
                    c.args.extend(["--duration".into(), "8h".into()]);
                }
                if name.contains("or less") {
                    c.args.extend(["--duration".into(), "1h".into()]);
                }
            }
            _ => {}
        }
    }
    let mut seen = Vec::new();
    for c in &cases {
        seen.extend(run(c).requests());
    }
    // What the calls carried.
    let of = |action: &str| -> Vec<crate::common::fake_sts::Request> {
        seen.iter()
            .filter(|r| r.action() == action)
            .cloned()
            .collect()
    };
    let web = of("AssumeRoleWithWebIdentity");
    assert_eq!(web[0].param("RoleSessionName"), Some("ci-run"));
    assert_eq!(
        web[0].param("WebIdentityToken"),
        Some("header.payload.signature")
    );
    let gst_calls = of("GetSessionToken");
    assert_eq!(gst_calls[0].param("SerialNumber"), Some(SERIAL));
    assert_eq!(gst_calls[0].param("TokenCode"), Some("123456"));
    assert_eq!(
        gst_calls[0].param("DurationSeconds"),
        Some("43200"),
        "12 h by default"
    );
    let long = of("AssumeRole")
        .into_iter()
        .find(|r| r.param("DurationSeconds") == Some("28800"))
        .expect("the 8 h AssumeRole");
    assert_eq!(long.param("SerialNumber"), Some(SERIAL));
    assert_eq!(long.param("TokenCode"), Some("123456"));
}

#[test]
fn an_mfa_session_of_a_user_profile_is_exported_cached_and_can_last_36_hours() {
    let sts = FakeSts::numbered(36 * 3600 - 60);
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!("[profile U]\n{}mfa_serial = {SERIAL}\n", keys("u")),
    );
    let args = [
        "assume",
        "U",
        "--endpoint-url",
        &sts.url,
        "-s",
        "bash",
        "--token-code",
        "654321",
        "-d",
        "36h",
    ];
    let out = env.stsenv(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("export AWS_ACCESS_KEY_ID='GetSessionToken0'"),
        "{text}"
    );
    assert!(text.contains("export AWS_SESSION_TOKEN='TOKEN0'"), "{text}");
    assert_eq!(
        sts.calls("GetSessionToken")[0].param("DurationSeconds"),
        Some("129600")
    );
    // The second run is answered from the MFA session cache, without a code.
    let out = env.stsenv(&["assume", "U", "--endpoint-url", &sts.url, "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("GetSessionToken0"));
    assert_eq!(sts.requests().len(), 1);
    // A role ARN can't last 36 hours.
    let out = env.stsenv(&["assume", &role_arn("x"), "-d", "36h", "-s", "bash"]);
    let err = assert_clean_failure(&out, &[]);
    assert!(err.contains("43200 s (12h)"), "{err}");
}

const LOGIN_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIJB04icvftenqNNUFdVyO7gTUKnj3WryCJnLDhIvo+1JoAoGCCqGSM49\nAwEHoUQDQgAEbk43+pMU/V/3v+90bdKYUu0e/EyrwKKK4w9bCioCpishaWLFB8V+\nMli6aogcN4nZYRTFKlm3Hk2KoAXV1xnEdg==\n-----END EC PRIVATE KEY-----\n";
const LOGIN_ARN: &str = "arn:aws:iam::123456789012:user/Admin";

/// The token `aws login` leaves in ~/.aws/login/cache, expiring at `expires`.
fn login_cache(env: &TestEnv, expires: i64) -> std::path::PathBuf {
    use sha2_free::sha256_hex;
    let name = format!("{}.json", sha256_hex(LOGIN_ARN));
    let doc = serde_json::json!({
        "accessToken": {
            "accessKeyId": "ASIAFROMLOGIN",
            "secretAccessKey": "login-secret-value-0123",
            "sessionToken": "login-token-value-0123",
            "accountId": "123456789012",
            "expiresAt": stsenv::time::rfc3339(expires),
        },
        "tokenType": "aws_sigv4",
        "refreshToken": "refresh-token-value-0123",
        "idToken": "id.token.value",
        "clientId": "arn:aws:signin:::devtools/same-device",
        "dpopKey": LOGIN_KEY,
    });
    register_secret("login-secret-value-0123");
    register_secret("refresh-token-value-0123");
    env.write(&format!(".aws/login/cache/{name}"), &doc.to_string())
}

/// SHA-256 through the system's sha256sum (the test needs the file name the AWS CLI uses).
mod sha2_free {
    pub fn sha256_hex(text: &str) -> String {
        let out = std::process::Command::new("sh")
            .args(["-c", "printf '%s' \"$1\" | sha256sum", "sh", text])
            .output()
            .expect("sha256sum");
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    }
}

#[test]
fn login_session_profiles_work_as_target_and_as_source() {
    let sts = FakeSts::numbered(3600);
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!(
            "[profile console]\nlogin_session = {LOGIN_ARN}\nregion = us-east-1\n[profile via-console]\n{}source_profile = console\n",
            role("Deploy")
        ),
    );
    login_cache(&env, stsenv::time::now() + 3600);
    let out = env.stsenv(&["assume", "console", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("export AWS_ACCESS_KEY_ID='ASIAFROMLOGIN'"),
        "{}",
        stdout(&out)
    );
    let out = env.stsenv(&[
        "assume",
        "via-console",
        "--endpoint-url",
        &sts.url,
        "-s",
        "bash",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sts.calls("AssumeRole")[0]
        .authorization
        .contains("Credential=ASIAFROMLOGIN/"));
    let out = env.stsenv(&["profiles"]);
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("console "))
        .unwrap()
        .to_string();
    assert!(line.contains("login"), "{line}");
    // An expired token is refreshed at the sign-in endpoint, as aws-config does.
    let signin = FakeHttp::start(|_, _| {
        HttpResponse::json(
            200,
            &serde_json::json!({
                "accessToken": {"accessKeyId": "ASIAREFRESHED", "secretAccessKey": "refreshed-secret-0123", "sessionToken": "refreshed-token-0123"},
                "tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": "refresh-token-2-0123",
            }),
        )
    });
    register_secret("refreshed-secret-0123");
    let mut env2 = TestEnv::new();
    env2.write(
        ".aws/config",
        &format!("[profile console]\nlogin_session = {LOGIN_ARN}\nregion = us-east-1\n"),
    );
    login_cache(&env2, stsenv::time::now() - 60);
    env2.set("AWS_ENDPOINT_URL_SIGNIN", &signin.url);
    let out = env2.stsenv(&["assume", "console", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIAREFRESHED"), "{}", stdout(&out));
    assert_eq!(signin.to("/v1/token").len(), 1);
}

#[test]
fn profiles_name_web_identity_and_login_kinds() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!("[profile wi]\n{}web_identity_token_file = /t\n[profile lo]\nlogin_session = {LOGIN_ARN}\n", role("Web")),
    );
    let out = env.stsenv(&["profiles", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let kind = |n: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(kind("wi")["kind"], "web identity");
    assert_eq!(kind("wi")["role_arn"], role_arn("Web"));
    assert_eq!(kind("lo")["kind"], "login");
}

#[test]
fn messages_in_plain_words() {
    // A 403 in another XML shape: its code and message are shown.
    let sts = FakeSts::always(Reply::Raw {
        status: 403,
        content_type: "text/xml".into(),
        body: "<Response><Errors><Error><Code>AccessDenied</Code><Message>Blocked by an SCP</Message></Error></Errors></Response>".into(),
    });
    let env = TestEnv::with_source_keys();
    let out = env.assume_at(&role_arn("x"), &sts.url);
    let err = assert_clean_failure(&out, &[]);
    assert!(err.contains("AccessDenied: Blocked by an SCP"), "{err}");
    // -v with --no-cache doesn't claim to have cached.
    let sts = FakeSts::numbered(3600);
    let out = env.stsenv(&[
        "-v",
        "assume",
        &role_arn("x"),
        "--endpoint-url",
        &sts.url,
        "--no-cache",
        "-s",
        "bash",
    ]);
    assert!(out.status.success());
    assert!(!stderr(&out).contains("cached in"), "{}", stderr(&out));
    // The unknown-profile hint names a command every install has.
    let out = env.stsenv(&["assume", "nope", "-s", "bash"]);
    let err = assert_clean_failure(&out, &[]);
    assert!(
        err.contains("`stsenv profiles`") && !err.contains("list-profiles"),
        "{err}"
    );
    // init --help lists only the shells init takes.
    let out = env.stsenv(&["init", "--help"]);
    let help = stdout(&out);
    let values = help
        .lines()
        .find(|l| l.contains("possible values"))
        .unwrap_or_default();
    assert!(
        values.contains("bash") && values.contains("powershell"),
        "{help}"
    );
    assert!(
        !values.contains("dotenv") && !values.contains("json") && !values.contains(" sh"),
        "{values}"
    );
    // Without USER or LOGNAME, the session name comes from the account of the uid.
    let mut bare = TestEnv::with_source_keys();
    bare.vars.retain(|(k, _)| k != "USER");
    let out = bare.assume_at(&role_arn("x"), &sts.url);
    assert!(out.status.success(), "{}", stderr(&out));
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    let last = sts.calls("AssumeRole").pop().unwrap();
    assert_eq!(
        last.param("RoleSessionName"),
        Some(format!("stsenv-{me}").as_str())
    );
}

/// The security findings about this feature.
mod security {
    use crate::common::demo;
    use crate::common::demo::ROLE as DEMO;
    use crate::common::fake_sts::FakeSts;
    use crate::common::*;
    use std::time::Duration;
    use std::time::Instant;

    /// Security round 2, finding 10: FIFOs and endless files as config, credentials or policy.
    #[test]
    fn fifos_and_endless_files_are_refused_and_dev_null_is_empty() {
        let env = TestEnv::with_source_keys();
        let fifo = env.home().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let fifo = fifo.to_str().unwrap();
        for (var, value) in [
            ("AWS_CONFIG_FILE", fifo),
            ("AWS_SHARED_CREDENTIALS_FILE", fifo),
            ("AWS_CONFIG_FILE", "/dev/zero"),
        ] {
            let mut e = TestEnv::with_source_keys();
            e.set(var, value);
            let start = Instant::now();
            let out = e.stsenv(&["assume", "p", "-s", "bash"]);
            let err = assert_clean_failure(&out, &[]);
            assert!(
                err.contains(value) && err.contains("not a regular file"),
                "{err}"
            );
            assert!(start.elapsed() < Duration::from_secs(5));
        }
        let out = env.stsenv(&[
            "assume",
            DEMO,
            "--policy",
            &format!("@{fifo}"),
            "-s",
            "bash",
        ]);
        let err = assert_clean_failure(&out, &[]);
        assert!(err.contains("not a regular file"), "{err}");
        // /dev/null as the credentials file reads as empty, as the AWS CLI reads it.
        let sts = FakeSts::numbered(3600);
        let mut e = TestEnv::with_source_keys();
        e.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        let out = e.assume_at(DEMO, &sts.url);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// Security round 2, finding 14: A credential_process or mfa_process that never ends is
    /// stopped at --timeout.
    #[test]
    fn hung_helper_processes_are_killed_at_the_timeout() {
        let sts = FakeSts::numbered(3600);
        let env = TestEnv::new();
        let pid_file = env.home().join("helper.pid");
        let helper = format!("sh -c 'echo $$ > {}; exec sleep 300'", pid_file.display());
        env.write(
            ".aws/config",
            &format!(
                "[profile proc]\ncredential_process = {helper}\n\
                 [profile via-proc]\nrole_arn = {DEMO}\nsource_profile = proc\n\
                 [profile mfa]\nrole_arn = {DEMO}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nmfa_process = {helper}\n"
            ),
        );
        let mut creds = demo::read(&env, ".aws/config");
        creds.clear();
        env.write(
            ".aws/credentials",
            &format!(
                "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
            ),
        );
        for target in ["via-proc", "mfa"] {
            let _ = std::fs::remove_file(&pid_file);
            let start = Instant::now();
            let out = env.stsenv(&[
                "assume",
                target,
                "--endpoint-url",
                &sts.url,
                "--timeout",
                "2",
                "-s",
                "bash",
            ]);
            let err = assert_clean_failure(&out, &[]);
            assert!(
                start.elapsed() < Duration::from_secs(8),
                "{target}: {:?}",
                start.elapsed()
            );
            assert!(err.contains("did not finish within 2 s"), "{err}");
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            std::thread::sleep(Duration::from_millis(200));
            // Gone, or a zombie waiting for a reaper: either way no longer running.
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let running = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']));
            assert!(
                !running,
                "{target}: the helper ({pid}) is still running: {state}"
            );
        }
    }
}
