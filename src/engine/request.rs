//! What the user asked for, as a plain value: the target and every option, already checked.
//! It can be run again unchanged, so a refresh repeats exactly the first assume. Knows
//! nothing of the command line that filled it.

use std::time::Duration;

pub use crate::cache::Mode as CacheMode;
use crate::error::Error;
use crate::sts::RoleOptions;
use crate::validate;

/// How long a request may go unanswered, unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an MFA session (GetSessionToken) lasts, unless `--mfa-session-duration` says
/// otherwise: 12 h, as the AWS CLI's GetSessionToken default.
pub const DEFAULT_MFA_SESSION: u32 = 12 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    RoleArn(String),
    Profile(String),
    /// A root session in a member account, for one task (AssumeRoot).
    Root(RootCall),
}

pub use crate::sts::RootCall;

#[derive(Debug, Clone)]
pub struct Request {
    /// The target exactly as typed.
    pub target_text: String,
    pub target: Target,
    /// The profile whose credentials assume a role ARN.
    pub profile: Option<String>,
    /// The AssumeRole options given, for the role the target names.
    pub role: RoleOptions,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub timeout: Duration,
    pub cache: CacheMode,
    pub mfa_session_duration: u32,
    /// Never start an SSO sign-in here (`--no-login`): a missing token is an error.
    pub no_login: bool,
}

impl Request {
    /// `stsenv assume TARGET` with every option at its default.
    pub fn new(target: &str) -> Result<Request, Error> {
        let parsed = if target.starts_with("arn:") {
            validate::role_arn(target)?;
            Target::RoleArn(target.to_string())
        } else if target.is_empty() {
            return Err(Error::Usage(
                "the target is empty: give a role ARN or a profile name".into(),
            ));
        } else if target.chars().any(char::is_control) {
            // It goes into prompts and messages: no terminal escape may ride along.
            return Err(Error::bad(
                "profile name",
                target,
                "control characters are not allowed",
            ));
        } else {
            Target::Profile(target.to_string())
        };
        Ok(Request {
            target_text: target.to_string(),
            target: parsed,
            profile: None,
            role: RoleOptions::default(),
            region: None,
            endpoint_url: None,
            timeout: default_timeout(),
            cache: CacheMode::Use,
            mfa_session_duration: DEFAULT_MFA_SESSION,
            no_login: false,
        })
    }

    /// `stsenv assume-root ACCOUNT --task TASK`, named `root@<account>:<task>` (so that a
    /// prompt shows a root session plainly), every option at its default.
    pub fn root(call: RootCall) -> Request {
        let mut req = Request::new("root").expect("a plain name");
        req.target_text = format!("root@{}:{}", call.account, call.task_name());
        req.target = Target::Root(call);
        // Never cached anywhere: the session is privileged and short.
        req.cache = CacheMode::Off;
        req
    }

    /// The checks that need more than one value: each value alone was checked as it was
    /// read.
    pub fn check(&self) -> Result<(), Error> {
        if let (Target::Profile(p), Some(_)) = (&self.target, &self.profile) {
            return Err(Error::ProfileWithProfile(p.clone()));
        }
        if self.role.policy_arns.len() > 10 {
            return Err(Error::bad(
                "policy ARNs",
                &format!("{} ARNs", self.role.policy_arns.len()),
                "STS accepts at most 10",
            ));
        }
        Ok(())
    }

    /// The AssumeRole-only flags that were given, by name, for a profile without role_arn.
    pub fn role_only_flags(&self) -> Vec<&'static str> {
        self.role
            .given()
            .filter(|o| o.role_only)
            .map(|o| o.flag)
            .collect()
    }
}

/// The timeout when `--timeout` is not given: 15 s, unless the test hook
/// STSENV_DEFAULT_TIMEOUT (seconds) says otherwise, so that a test of the default path need
/// not wait 15 s. Read once.
pub fn default_timeout() -> Duration {
    static HOOK: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *HOOK.get_or_init(|| {
        std::env::var("STSENV_DEFAULT_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_timeout_is_15_s() {
        assert_eq!(super::DEFAULT_TIMEOUT.as_secs(), 15);
    }
}
