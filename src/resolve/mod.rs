//! From what the user typed and what ~/.aws/config says to a plan: where the first
//! credentials come from, and which AssumeRole calls to make on top of them.

pub mod profile;
pub mod validate;

use std::str::FromStr;
use std::time::Duration;

use aws_config::profile::ProfileSet;

pub use crate::cache::Mode as CacheMode;
use crate::cli::AssumeOptions;
use crate::error::Error;

/// Where the credentials for the first hop come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The standard chain, as the AWS CLI resolves it without --profile.
    DefaultChain,
    /// A profile without role_arn: static keys, SSO, credential_process, web identity.
    Profile(String),
    /// A role profile whose source_profile is itself: its own static keys.
    StaticKeys(String),
    /// A role profile's `credential_source`.
    Provider {
        profile: String,
        kind: CredentialSource,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

impl FromStr for CredentialSource {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "Environment" => Ok(Self::Environment),
            "Ec2InstanceMetadata" => Ok(Self::Ec2InstanceMetadata),
            "EcsContainer" => Ok(Self::EcsContainer),
            _ => Err(()),
        }
    }
}

impl Source {
    /// How messages name it: "of profile 'dev'", "from the default credential chain".
    pub fn label(&self) -> String {
        match self {
            Source::DefaultChain => "from the default credential chain".into(),
            Source::Profile(p) | Source::StaticKeys(p) => format!("of profile '{p}'"),
            Source::Provider { profile, kind } => {
                format!("of profile '{profile}' (credential_source {kind:?})")
            }
        }
    }
}

/// One AssumeRole call.
#[derive(Debug, Clone, Default)]
pub struct Hop {
    pub role_arn: String,
    pub session_name: String,
    pub duration: Option<u32>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub token_code: Option<String>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub source_identity: Option<String>,
    /// The profile this hop was read from, for messages.
    pub profile: Option<String>,
    /// Whether the session name was given or configured (it is then part of the cache key)
    /// rather than generated.
    pub session_name_configured: bool,
    /// A command that prints the MFA code (aws-vault's `mfa_process`).
    pub mfa_process: Option<String>,
    /// For a bare role ARN: where the source credentials came from, so that two identities
    /// assuming one role don't share a cache entry.
    pub cache_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    RoleArn(String),
    Profile(String),
}

/// The command line, checked.
#[derive(Debug)]
pub struct Request {
    pub target_text: String,
    pub target: Target,
    pub profile: Option<String>,
    pub session_name: Option<String>,
    pub duration: Option<u32>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub token_code: Option<String>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub source_identity: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub timeout: Duration,
    pub cache: CacheMode,
    pub mfa_session_duration: u32,
}

impl Request {
    pub fn from_args(a: &AssumeOptions) -> Result<Request, Error> {
        let target = if a.target.starts_with("arn:") {
            validate::role_arn(&a.target)?;
            Target::RoleArn(a.target.clone())
        } else if a.target.is_empty() {
            return Err(Error::Usage(
                "the target is empty: give a role ARN or a profile name".into(),
            ));
        } else {
            Target::Profile(a.target.clone())
        };
        if let (Target::Profile(p), Some(_)) = (&target, &a.profile) {
            return Err(Error::ProfileWithProfile(p.clone()));
        }
        let check = |v: &Option<String>,
                     f: fn(&str) -> Result<(), Error>|
         -> Result<Option<String>, Error> {
            v.as_deref().map(f).transpose()?;
            Ok(v.clone())
        };
        let policy_arns = a.policy_arns.clone();
        if policy_arns.len() > 10 {
            return Err(Error::bad(
                "policy ARNs",
                &format!("{} ARNs", policy_arns.len()),
                "STS accepts at most 10",
            ));
        }
        for arn in &policy_arns {
            validate::policy_arn(arn)?;
        }
        Ok(Request {
            target_text: a.target.clone(),
            target,
            profile: a.profile.clone(),
            session_name: check(&a.session_name, validate::session_name)?,
            duration: a.duration.as_deref().map(validate::duration).transpose()?,
            external_id: check(&a.external_id, validate::external_id)?,
            mfa_serial: check(&a.mfa_serial, validate::mfa_serial)?,
            token_code: check(&a.token_code, validate::token_code)?,
            policy: a.policy.as_deref().map(validate::policy).transpose()?,
            policy_arns,
            tags: validate::tags(&a.tags)?,
            source_identity: check(&a.source_identity, validate::source_identity)?,
            region: check(&a.region, validate::region)?,
            endpoint_url: check(&a.endpoint_url, validate::endpoint_url)?,
            timeout: validate::timeout(&a.timeout)?,
            cache: match (a.no_cache, a.refresh) {
                (true, _) => CacheMode::Off,
                (false, true) => CacheMode::Refresh,
                (false, false) => CacheMode::Use,
            },
            mfa_session_duration: validate::mfa_session_duration(&a.mfa_session_duration)?,
        })
    }

    /// `stsenv assume TARGET` with every option at its default.
    pub fn for_target(target: &str) -> Result<Request, Error> {
        use clap::Parser;
        let opts = crate::cli::AssumeOnly::try_parse_from([target])
            .map_err(|e| Error::Usage(crate::error::one_line(&e.to_string())))?
            .opts;
        Request::from_args(&opts)
    }

    /// The AssumeRole-only flags that were given, by name, for a profile without role_arn.
    fn role_only_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
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
        for (flag, given) in pairs {
            if given {
                flags.push(flag);
            }
        }
        flags
    }

    /// The command-line options win over the profile's for the last hop, the one the user
    /// named.
    fn apply_to(&self, hop: &mut Hop) {
        if let Some(n) = &self.session_name {
            hop.session_name = n.clone();
            hop.session_name_configured = true;
        }
        hop.duration = self.duration.or(hop.duration);
        hop.external_id = self.external_id.clone().or(hop.external_id.take());
        hop.mfa_serial = self.mfa_serial.clone().or(hop.mfa_serial.take());
        hop.policy = self.policy.clone();
        hop.policy_arns = self.policy_arns.clone();
        hop.tags = self.tags.clone();
        hop.source_identity = self.source_identity.clone();
    }
}

#[derive(Debug)]
pub struct Plan {
    pub source: Source,
    pub hops: Vec<Hop>,
    /// A region that was given or configured; None means STS's default, us-east-1.
    pub region: Option<String>,
    /// The profile whose settings (endpoint_url) apply to the STS client.
    pub config_profile: Option<String>,
    /// Things worth telling the user that don't stop the assume.
    pub warnings: Vec<String>,
}

pub const DEFAULT_REGION: &str = "us-east-1";

/// `env` reads the process environment (a parameter so tests can pass their own).
pub fn plan(
    req: &Request,
    profiles: &ProfileSet,
    files: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, Error> {
    let mut warnings = Vec::new();
    let default_session = validate::default_session_name(
        env("USER")
            .or_else(|| env("LOGNAME"))
            .or_else(|| env("USERNAME"))
            .as_deref(),
    );
    let (source, hops, config_profile): (Source, Vec<Hop>, Option<String>) = match &req.target {
        Target::Profile(name) => {
            let (source, mut hops) =
                profile::walk(profiles, name, &default_session, files, &mut warnings)?;
            match hops.last_mut() {
                Some(last) => req.apply_to(last),
                None => {
                    if let Some(flag) = req.role_only_flags().first() {
                        return Err(Error::OptionNeedsRole {
                            profile: name.clone(),
                            flag,
                        });
                    }
                }
            }
            (source, hops, Some(name.clone()))
        }
        Target::RoleArn(arn) => {
            // As the AWS CLI does: --profile, else keys in the environment, else AWS_PROFILE.
            // A profile goes through stsenv's own chain walk, so its MFA and session
            // settings are honoured; everything else is aws-config's default chain.
            let env_key = env("AWS_ACCESS_KEY_ID").filter(|k| !k.is_empty());
            let source_profile = req
                .profile
                .clone()
                .or_else(|| env("AWS_PROFILE").filter(|p| !p.is_empty() && env_key.is_none()));
            let (source, mut hops) = match &source_profile {
                Some(p) => profile::walk(profiles, p, &default_session, files, &mut warnings)?,
                None => (Source::DefaultChain, Vec::new()),
            };
            let cache_source = match (&source_profile, &env_key) {
                (Some(p), _) => format!("profile:{p}"),
                (None, Some(key)) => format!("key:{key}"),
                (None, None) => "default".to_string(),
            };
            let mfa_process = source_profile
                .as_deref()
                .and_then(|p| profiles.get_profile(p)?.get("mfa_process"))
                .map(String::from);
            let mut last = Hop {
                role_arn: arn.clone(),
                session_name: default_session,
                cache_source: Some(cache_source),
                mfa_process,
                ..Hop::default()
            };
            req.apply_to(&mut last);
            hops.push(last);
            let config_profile = source_profile.or_else(|| env("AWS_PROFILE"));
            (source, hops, config_profile)
        }
    };
    let hops = assign_token_code(hops, req.token_code.as_deref())?;
    let region = region(
        req.region.as_deref(),
        profiles,
        config_profile.as_deref(),
        env,
    );
    if let Some(r) = &region {
        validate::region(r)?;
    }
    Ok(Plan {
        source,
        hops,
        region,
        config_profile,
        warnings,
    })
}

/// The region as the AWS CLI picks it: given, then AWS_REGION / AWS_DEFAULT_REGION, then the
/// profile's (or the default profile's) `region`. None means STS's default, us-east-1.
pub fn region(
    given: Option<&str>,
    profiles: &ProfileSet,
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    given
        .map(String::from)
        .or_else(|| env("AWS_REGION").filter(|r| !r.is_empty()))
        .or_else(|| env("AWS_DEFAULT_REGION").filter(|r| !r.is_empty()))
        .or_else(|| {
            let p = profiles.get_profile(profile.unwrap_or("default"))?;
            p.get("region").map(String::from)
        })
}

/// One `--token-code` serves one MFA check: it goes to the first hop that needs one. Hops
/// without a code get one later, from mfa_process or the prompt.
fn assign_token_code(mut hops: Vec<Hop>, code: Option<&str>) -> Result<Vec<Hop>, Error> {
    let Some(code) = code else { return Ok(hops) };
    match hops.iter_mut().find(|h| h.mfa_serial.is_some()) {
        Some(hop) => {
            hop.token_code = Some(code.to_string());
            Ok(hops)
        }
        None => Err(Error::Usage(
            "--token-code was given but nothing needs MFA: add --mfa-serial or mfa_serial to the profile".into(),
        )),
    }
}
