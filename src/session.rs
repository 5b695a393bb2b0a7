//! Credentials and the session an assume produces, their conversions to and from the SDK's
//! type, and the environment variables that carry them to a shell.

use std::time::UNIX_EPOCH;

use crate::time::rfc3339;

/// A set of AWS credentials. Debug is written by hand so that a stray `{:?}` can never print
/// a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Unix seconds.
    pub expires: Option<i64>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

impl Credentials {
    pub fn from_sdk(c: &aws_credential_types::Credentials) -> Credentials {
        Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().map(String::from),
            expires: c.expiry().map(|t| match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_secs() as i64,
                Err(e) => -(e.duration().as_secs() as i64),
            }),
        }
    }

    pub fn to_sdk(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            self.expires
                .and_then(|s| u64::try_from(s).ok())
                .map(|s| UNIX_EPOCH + std::time::Duration::from_secs(s)),
            "stsenv",
        )
    }
}

/// What `stsenv assume` hands to the shell.
#[derive(Debug, Clone)]
pub struct Session {
    pub credentials: Credentials,
    /// The role assumed last, when a role was assumed at all.
    pub role_arn: Option<String>,
    /// Only a region that was given or configured; the us-east-1 fallback is not exported.
    pub region: Option<String>,
    /// The TARGET exactly as typed.
    pub target: String,
    /// Whether the source credentials were keys in the environment, which the variables of
    /// this session replace (so the session can't be got again from this shell alone).
    pub source_in_env: bool,
    /// The `stsenv assume` arguments that get these credentials again, as POSIX-quoted
    /// words; what `stsenv refresh` replays.
    pub replay: Option<String>,
}

/// Stale values of these make other tools pick another identity than the one just assumed.
pub const ALWAYS_UNSET: [&str; 3] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN"];

/// Every variable `assume` may set: what `stsenv clear` and `unassume` remove.
pub const SET_BY_ASSUME: [&str; 10] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "STSENV_PROFILE",
    "STSENV_ROLE_ARN",
    "STSENV_EXPIRES",
    "STSENV_ARGS",
];

/// The variables that carry a session's credentials: never a source for its own refresh.
pub const CREDENTIAL_VARS: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// What a shell holds: the credentials in its environment (when both keys are there), and
/// what the stsenv session that put them there said of itself.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub credentials: Option<Credentials>,
    /// STSENV_PROFILE: the target that was assumed.
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    /// AWS_CREDENTIAL_EXPIRATION, else STSENV_EXPIRES.
    pub expires: Option<i64>,
    /// STSENV_ARGS: the arguments that get the session again.
    pub args: Option<String>,
}

impl Held {
    pub fn from_env(env: &crate::env::Env) -> Held {
        let expires = env
            .get("AWS_CREDENTIAL_EXPIRATION")
            .and_then(crate::time::parse)
            .or_else(|| env.get("STSENV_EXPIRES")?.parse().ok());
        let credentials = match (
            env.var("AWS_ACCESS_KEY_ID"),
            env.var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token: env.var("AWS_SESSION_TOKEN"),
                expires,
            }),
            _ => None,
        };
        Held {
            credentials,
            profile: env.var("STSENV_PROFILE"),
            role_arn: env.var("STSENV_ROLE_ARN"),
            expires,
            args: env.var("STSENV_ARGS"),
        }
    }
}

/// The change that undoes an assume.
pub fn clear() -> EnvChange {
    SET_BY_ASSUME.iter().map(|n| (*n, None)).collect()
}

/// An ordered list of changes: `None` means unset. The order is fixed so output is
/// deterministic.
pub type EnvChange = Vec<(&'static str, Option<String>)>;

impl Session {
    pub fn env(&self) -> EnvChange {
        let c = &self.credentials;
        let mut out: EnvChange = ALWAYS_UNSET.iter().map(|n| (*n, None)).collect();
        out.push(("AWS_ACCESS_KEY_ID", Some(c.access_key_id.clone())));
        out.push(("AWS_SECRET_ACCESS_KEY", Some(c.secret_access_key.clone())));
        // Long-term keys must not travel with a previous session's token, so it is unset.
        out.push(("AWS_SESSION_TOKEN", c.session_token.clone()));
        out.push(("AWS_CREDENTIAL_EXPIRATION", c.expires.map(rfc3339)));
        if let Some(region) = &self.region {
            out.push(("AWS_REGION", Some(region.clone())));
            out.push(("AWS_DEFAULT_REGION", Some(region.clone())));
        }
        out.push(("STSENV_PROFILE", Some(self.target.clone())));
        out.push(("STSENV_ROLE_ARN", self.role_arn.clone()));
        out.push(("STSENV_EXPIRES", c.expires.map(|e| e.to_string())));
        out.push(("STSENV_ARGS", self.replay.clone()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(token: Option<&str>, region: Option<&str>) -> Session {
        Session {
            credentials: Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "SECRET".into(),
                session_token: token.map(String::from),
                expires: token.map(|_| 1_800_000_000),
            },
            role_arn: token.map(|_| "arn:aws:iam::123456789012:role/r".to_string()),
            region: region.map(String::from),
            target: "t".into(),
            source_in_env: false,
            replay: None,
        }
    }

    #[test]
    fn env_unsets_stale_identity_first_and_sets_expiry_both_ways() {
        let env = session(Some("TOKEN"), Some("eu-west-1")).env();
        let names: Vec<_> = env.iter().map(|(n, _)| *n).collect();
        assert_eq!(&names[..3], &ALWAYS_UNSET);
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(
            get("AWS_CREDENTIAL_EXPIRATION").unwrap(),
            "2027-01-15T08:00:00Z"
        );
        assert_eq!(get("STSENV_EXPIRES").unwrap(), "1800000000");
        assert_eq!(get("AWS_DEFAULT_REGION").unwrap(), "eu-west-1");
    }

    #[test]
    fn static_keys_unset_token_and_leave_region_alone() {
        let env = session(None, None).env();
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("AWS_SESSION_TOKEN"), Some(None));
        assert_eq!(get("STSENV_EXPIRES"), Some(None));
        assert_eq!(get("AWS_REGION"), None);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = format!("{:?}", session(Some("TOKEN"), None));
        assert!(!s.contains("SECRET") && !s.contains("TOKEN"), "{s}");
    }
}
