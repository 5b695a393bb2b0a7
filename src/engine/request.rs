//! What the user asked for, as a plain value: the target and every option, already checked.
//! It can be run again unchanged, so a refresh repeats exactly the first assume. Knows
//! nothing of the command line that filled it.

use std::time::Duration;

pub use crate::cache::Mode as CacheMode;
use crate::error::Error;
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
}

#[derive(Debug, Clone)]
pub struct Request {
    /// The target exactly as typed.
    pub target_text: String,
    pub target: Target,
    /// The profile whose credentials assume a role ARN.
    pub profile: Option<String>,
    pub session_name: Option<String>,
    pub duration: Option<u32>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub token_code: Option<String>,
    /// The policy text itself (an `@file` has been read).
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub source_identity: Option<String>,
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
            session_name: None,
            duration: None,
            external_id: None,
            mfa_serial: None,
            token_code: None,
            policy: None,
            policy_arns: Vec::new(),
            tags: Vec::new(),
            source_identity: None,
            region: None,
            endpoint_url: None,
            timeout: DEFAULT_TIMEOUT,
            cache: CacheMode::Use,
            mfa_session_duration: DEFAULT_MFA_SESSION,
            no_login: false,
        })
    }

    /// The checks that need more than one value: each value alone was checked as it was
    /// read.
    pub fn check(&self) -> Result<(), Error> {
        if let (Target::Profile(p), Some(_)) = (&self.target, &self.profile) {
            return Err(Error::ProfileWithProfile(p.clone()));
        }
        if self.policy_arns.len() > 10 {
            return Err(Error::bad(
                "policy ARNs",
                &format!("{} ARNs", self.policy_arns.len()),
                "STS accepts at most 10",
            ));
        }
        Ok(())
    }

    /// The AssumeRole-only flags that were given, by name, for a profile without role_arn.
    pub fn role_only_flags(&self) -> Vec<&'static str> {
        let pairs: [(&'static str, bool); 8] = [
            ("--session-name", self.session_name.is_some()),
            ("--duration", self.duration.is_some()),
            ("--external-id", self.external_id.is_some()),
            ("--mfa-serial", self.mfa_serial.is_some()),
            ("--policy", self.policy.is_some()),
            ("--policy-arn", !self.policy_arns.is_empty()),
            ("--tag", !self.tags.is_empty()),
            ("--source-identity", self.source_identity.is_some()),
        ];
        pairs
            .into_iter()
            .filter_map(|(flag, given)| given.then_some(flag))
            .collect()
    }
}
