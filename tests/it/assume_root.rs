//! `stsenv assume-root ACCOUNT --task TASK`: AssumeRoot's request as the fake STS sees it (the
//! member account, the task's policy ARN, the duration), its regional endpoint, the output in
//! every real shell, and every input refused before any request. moto has no AssumeRoot.

use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::netfix::DefaultEndpoint;
use crate::common::shells::{self, parse};
use crate::common::*;

const MEMBER: &str = "111122223333";
const AUDIT: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

/// `[base]` holds long-term keys; `deploy` is a role behind them.
fn env_for(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile deploy]\nrole_arn = {}\nsource_profile = base\n",
        role_arn("deploy")
    ));
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

#[test]
fn a_root_session_for_one_task_in_every_shell() {
    let sts = FakeSts::numbered(900);
    let env = env_for(&sts);
    for sh in shells::ALL {
        sh.require();
        let args = [
            MEMBER,
            "--task",
            "IAMAuditRootUserCredentials",
            "--profile",
            "base",
        ];
        let script = format!(
            "{}; {}",
            sh.apply_command("assume-root", &args),
            sh.dump(&shells::vars())
        );
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        let vars = parse(&out.stdout);
        let n = sts.requests().len() - 1;
        shells::assert_credentials(
            &vars,
            sh,
            &format!("AssumeRoot{n}"),
            &format!("SECRET{n}"),
            Some(&format!("TOKEN{n}")),
        );
        assert_eq!(
            shells::get(&vars, "STSENV_PROFILE").as_deref(),
            Some("root@111122223333:IAMAuditRootUserCredentials"),
            "{sh:?}: the prompt shows a root session plainly"
        );
        assert_eq!(
            shells::get(&vars, "STSENV_ARGS"),
            None,
            "{sh:?}: never refreshed"
        );
    }
    let calls = sts.calls("AssumeRoot");
    assert_eq!(
        calls.len(),
        shells::ALL.len(),
        "not cached: asked every time"
    );
    for c in &calls {
        assert_eq!(c.param("TargetPrincipal"), Some(MEMBER));
        assert_eq!(c.param("TaskPolicyArn.arn"), Some(AUDIT));
        assert_eq!(
            c.param("DurationSeconds"),
            Some("900"),
            "the API's limit, the default"
        );
        assert!(c.authorization.contains(&format!("Credential={BASE_KEY}/")));
    }
    assert!(
        !env.home().join(".aws/cli/cache").exists() && !env.home().join(".cache/stsenv").exists(),
        "nothing cached anywhere"
    );
}

#[test]
fn a_role_chain_as_the_source_and_every_format() {
    let sts = FakeSts::numbered(900);
    let env = env_for(&sts);
    let out = env.stsenv(&[
        "assume-root",
        MEMBER,
        "--task",
        "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
        "--profile",
        "deploy",
        "--duration",
        "10m",
        "-s",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], "AssumeRoot1");
    let root = &sts.calls("AssumeRoot")[0];
    assert!(
        root.authorization.contains("Credential=AssumeRole0/"),
        "signed with the role the profile leads to"
    );
    assert_eq!(root.param("DurationSeconds"), Some("600"));
    assert_eq!(
        root.param("TaskPolicyArn.arn"),
        Some("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy")
    );
    // The keys in the environment, as the default chain finds them, and dotenv.
    let mut keys = TestEnv::with_source_keys();
    keys.set("AWS_ENDPOINT_URL", &sts.url);
    let out = keys.stsenv(&[
        "assume-root",
        MEMBER,
        "--task",
        "SQSUnlockQueuePolicy",
        "-s",
        "dotenv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("STSENV_PROFILE=root@111122223333:SQSUnlockQueuePolicy\n"));
    let last = sts.calls("AssumeRoot").pop().unwrap();
    assert!(last
        .authorization
        .contains(&format!("Credential={BASE_KEY}/")));
}

#[test]
fn every_refused_input_is_one_line_before_any_request() {
    let sts = FakeSts::numbered(900);
    let env = env_for(&sts);
    for (args, says) in [
        (
            vec!["12345", "--task", "IAMAuditRootUserCredentials"],
            "12 digits",
        ),
        (
            vec!["11112222333a", "--task", "IAMAuditRootUserCredentials"],
            "12 digits",
        ),
        (
            vec![MEMBER, "--task", "Admin"],
            "IAMAuditRootUserCredentials, IAMCreateRootUserPassword",
        ),
        (
            vec![
                MEMBER,
                "--task",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ],
            "root-task",
        ),
        (
            vec![
                MEMBER,
                "--task",
                "IAMAuditRootUserCredentials",
                "--duration",
                "901",
            ],
            "at most 900 s",
        ),
        (
            vec![
                MEMBER,
                "--task",
                "IAMAuditRootUserCredentials",
                "--duration",
                "1h",
            ],
            "at most 900 s",
        ),
        (
            vec![
                MEMBER,
                "--task",
                "IAMAuditRootUserCredentials",
                "--write-profile",
                "root",
            ],
            "never written to a file",
        ),
        (
            vec![
                MEMBER,
                "--task",
                "IAMAuditRootUserCredentials",
                "--region",
                "aws-global",
            ],
            "no global endpoint",
        ),
        (
            vec![
                MEMBER,
                "--task",
                "IAMAuditRootUserCredentials",
                "--profile",
                "nobody",
            ],
            "profile 'nobody' not found",
        ),
    ] {
        let mut full = vec!["assume-root"];
        full.extend(&args);
        full.extend(["-s", "bash"]);
        let err = assert_clean_failure(&env.stsenv(&full), &[]);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(sts.requests().is_empty(), "no request was made");
    // AWS's own refusal, in words.
    let denied = FakeSts::always(Reply::error(403, "AccessDenied", "not allowed"));
    let mut env = env_for(&denied);
    env.set("AWS_ENDPOINT_URL", &denied.url);
    let err = assert_clean_failure(
        &env.stsenv(&[
            "assume-root",
            MEMBER,
            "--task",
            "IAMAuditRootUserCredentials",
            "--profile",
            "base",
            "-s",
            "bash",
        ]),
        &[],
    );
    assert!(err.contains("centralized root access"), "{err}");
}

/// AssumeRoot has no global endpoint: stsenv calls the region's own, as the SDK resolves it,
/// reached here through a proxy and a TLS front with AWS's host names; the fake STS refuses
/// AssumeRoot at the global host, as AWS does.
#[test]
fn the_regional_endpoint_is_called_and_the_global_one_is_refused() {
    let sts = FakeSts::start(|r, n| {
        if r.action() == "AssumeRoot" && r.host.starts_with("sts.amazonaws.com") {
            return Reply::error(
                400,
                "InvalidAction",
                "AssumeRoot is not supported on the global endpoint",
            );
        }
        Reply::creds(
            &format!("ASIAROOT{n}"),
            &format!("root-secret-{n}-0123"),
            &format!("root-token-{n}-0123"),
        )
    });
    let backend: u16 = sts.url.rsplit(':').next().unwrap().parse().unwrap();
    let net = DefaultEndpoint::start(backend);
    let mut env = TestEnv::new();
    env.with_base_profile("");
    net.apply(&mut env);
    for (region, host) in [
        (None, "sts.us-east-1.amazonaws.com"),
        (Some("eu-west-1"), "sts.eu-west-1.amazonaws.com"),
    ] {
        let mut args = vec![
            "assume-root",
            MEMBER,
            "--task",
            "IAMAuditRootUserCredentials",
            "--profile",
            "base",
            "-s",
            "bash",
        ];
        if let Some(r) = region {
            args.extend(["--region", r]);
        }
        let out = env.stsenv(&args);
        assert!(out.status.success(), "{region:?}: {}", stderr(&out));
        assert_eq!(sts.calls("AssumeRoot").pop().unwrap().host, host);
    }
    let err = assert_clean_failure(
        &env.stsenv(&[
            "assume-root",
            MEMBER,
            "--task",
            "IAMAuditRootUserCredentials",
            "--profile",
            "base",
            "--endpoint-url",
            "https://sts.amazonaws.com",
            "-s",
            "bash",
        ]),
        &[],
    );
    assert!(err.contains("global endpoint"), "{err}");
}
