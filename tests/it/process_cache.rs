//! `credential_process` output cached: a helper that counts its runs, as a target and as a
//! source, against the fake STS; the cache is stsenv's own (0600), keyed by the profile and the
//! exact command line, reused while more than the 15-minute window is left, never without an
//! Expiration; `--refresh`, `cache list` and `cache clear`; the AWS CLI through the cached
//! wrapper `stsenv assume PROFILE --shell json`.

use std::os::unix::fs::PermissionsExt;

use crate::common::fake_sts::FakeSts;
use crate::common::*;

/// A helper that appends a line to $HOME/runs each time it runs and prints credentials
/// expiring `ttl` seconds from now (`none`: no Expiration), after `delay` seconds.
const HELPER: &str = r#"#!/bin/sh
ttl=$1 delay=${2:-0}
echo run >> "$HOME/runs"
[ "$delay" = 0 ] || sleep "$delay"
n=$(wc -l < "$HOME/runs" | tr -d ' ')
if [ "$ttl" = none ]; then exp=""; else
  exp=$(date -u -d "@$(( $(date +%s) + ttl ))" +%Y-%m-%dT%H:%M:%SZ)
  exp=", \"Expiration\": \"$exp\""
fi
printf '{"Version": 1, "AccessKeyId": "ASIAHELPER%s", "SecretAccessKey": "helper-secret-%s-0123", "SessionToken": "helper-token-%s-0123"%s}\n' "$n" "$n" "$n" "$exp"
"#;

fn env_for(sts: &FakeSts, ttl: &str) -> TestEnv {
    let mut env = TestEnv::new();
    let helper = env.write_executable("bin/okta-helper", HELPER);
    for n in 1..=20 {
        register_secret(&format!("helper-secret-{n}-0123"));
        register_secret(&format!("helper-token-{n}-0123"));
    }
    env.write(
        ".aws/config",
        &format!(
            "[profile okta]\ncredential_process = {} {ttl}\n\n[profile deploy]\nrole_arn = {}\nsource_profile = okta\n",
            helper.display(),
            role_arn("deploy")
        ),
    );
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

fn runs(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.home().join("runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn assume(env: &TestEnv, args: &[&str]) -> String {
    let mut full = vec!["assume"];
    full.extend(args);
    full.extend(["-s", "bash"]);
    let out = env.stsenv(&full);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn one_run_serves_many_assumes_until_refresh_or_clear() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, "3600");
    for _ in 0..3 {
        assert!(assume(&env, &["okta"]).contains("export AWS_ACCESS_KEY_ID='ASIAHELPER1'"));
    }
    assert_eq!(runs(&env), 1, "one run for three assumes");
    // The entry: stsenv's own cache, private, named by neither the profile nor the command.
    let own = env.home().join(".cache/stsenv");
    let entries: Vec<_> = std::fs::read_dir(&own)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("process-"))
        .collect();
    assert_eq!(entries.len(), 1);
    let mode = entries[0].metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        !env.home().join(".aws/cli/cache").exists(),
        "not the AWS CLI's cache"
    );
    // cache list shows it (no secret), --refresh bypasses it, cache clear removes it.
    let list = stdout(&env.stsenv(&["cache", "list"]));
    assert!(
        list.contains("process") && list.contains("okta (credential_process)"),
        "{list}"
    );
    assert!(!list.contains("helper-secret"), "{list}");
    assert!(assume(&env, &["okta", "--refresh"]).contains("ASIAHELPER2"));
    assert_eq!(runs(&env), 2);
    assert!(
        assume(&env, &["okta"]).contains("ASIAHELPER2"),
        "the refreshed one is kept"
    );
    let out = env.stsenv(&["cache", "clear", "okta"]);
    assert!(
        stderr(&out).contains("removed 1 cached entry for okta"),
        "{}",
        stderr(&out)
    );
    assert!(assume(&env, &["okta"]).contains("ASIAHELPER3"));
    assert_eq!(runs(&env), 3);
    // Another command line is another entry.
    let text = std::fs::read_to_string(env.home().join(".aws/config"))
        .unwrap()
        .replace(" 3600\n", " 3601\n");
    env.write(".aws/config", &text);
    assert!(assume(&env, &["okta"]).contains("ASIAHELPER4"));
    assert_eq!(runs(&env), 4);
    assert!(
        sts.requests().is_empty(),
        "a process profile as it is asks no STS"
    );
}

#[test]
fn a_process_source_is_run_once_for_the_roles_on_top_and_its_assumers() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, "3600");
    assume(&env, &["deploy"]);
    assume(&env, &["okta"]);
    assume(&env, &["deploy", "--no-cache"]);
    assert_eq!(runs(&env), 2, "--no-cache neither reads nor writes");
    let signed: Vec<String> = sts
        .calls("AssumeRole")
        .iter()
        .map(|c| c.authorization.clone())
        .collect();
    assert!(signed[0].contains("Credential=ASIAHELPER1/"), "{signed:?}");
    // Five assumes at once: one run of a slow helper.
    let mut slow = env_for(&sts, "3600 1");
    slow.set("AWS_ENDPOINT_URL", &sts.url);
    let children: Vec<_> = (0..5)
        .map(|_| {
            slow.command(BIN)
                .args(["assume", "okta", "-s", "bash"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("ASIAHELPER1"));
    }
    assert_eq!(runs(&slow), 1, "one run, however many ask at once");
}

#[test]
fn without_expiration_never_cached_and_near_expiry_run_again() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts, "none");
    assume(&env, &["okta"]);
    assume(&env, &["okta"]);
    assert_eq!(runs(&env), 2, "output without an Expiration is never kept");
    assert!(
        !env.home().join(".cache/stsenv").exists()
            || std::fs::read_dir(env.home().join(".cache/stsenv"))
                .unwrap()
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().starts_with("process-"))
    );
    // 10 minutes left: inside the 15-minute window, as for roles: never reused.
    let env = env_for(&sts, "600");
    assume(&env, &["okta"]);
    assume(&env, &["okta"]);
    assert_eq!(runs(&env), 2);
    // 2 s more than the window: reused at once, run again once it is inside the window.
    let env = env_for(&sts, "902");
    assume(&env, &["okta"]);
    assume(&env, &["okta"]);
    assert_eq!(runs(&env), 1);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assume(&env, &["okta"]);
    assert_eq!(runs(&env), 2, "a new run once the entry is due");
}

/// `credential_process = stsenv assume okta --shell json` in another profile: every AWS
/// tool gets a cached wrapper around the slow helper.
#[test]
fn the_aws_cli_through_the_cached_wrapper_runs_the_helper_once() {
    require("aws", "pip install awscli");
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts, "3600");
    env.set("AWS_DEFAULT_REGION", "us-east-1");
    let mut text = std::fs::read_to_string(env.home().join(".aws/config")).unwrap();
    text.push_str(&format!(
        "\n[profile wrapped]\ncredential_process = {BIN} assume okta --shell json\n"
    ));
    env.write(".aws/config", &text);
    for _ in 0..3 {
        let arn = env.caller_arn(&[("AWS_PROFILE", "wrapped".into())]);
        assert!(arn.ends_with("/ASIAHELPER1"), "{arn}");
    }
    assert_eq!(runs(&env), 1, "three AWS CLI calls, one helper run");
}
