//! The demo setup of the security tests: `[default]` holds long-term keys; `demo` is a role
//! behind them; `mid` is a role between, and `top` one on top of it.

use super::fake_sts::FakeSts;
use super::{role_arn, stderr, TestEnv, BASE_KEY, BASE_SECRET};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/demo";

pub fn env(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "# mine\n[default]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile demo]\nrole_arn = {ROLE}\nsource_profile = default\nregion = us-east-1\n\
             [profile top]\nrole_arn = {}\nsource_profile = mid\n\
             [profile mid]\nrole_arn = {}\nsource_profile = default\n",
            role_arn("top"),
            role_arn("mid")
        ),
    );
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

/// Assumes `demo` once and returns its one entry in the AWS CLI's cache.
pub fn cached(env: &TestEnv) -> std::path::PathBuf {
    let out = env.stsenv(&["assume", "demo", "-s", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = env.home().join(".aws/cli/cache");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1, "one cache entry");
    entries.pop().unwrap().path()
}

/// A file under HOME, or "" when there is none.
pub fn read(env: &TestEnv, rel: &str) -> String {
    std::fs::read_to_string(env.home().join(rel)).unwrap_or_default()
}
