//! From a request and what ~/.aws/config says to a plan: where the first credentials come
//! from, and which AssumeRole calls to make on top of them. Makes no request.

use aws_config::profile::ProfileSet;

use crate::context::Context;
use crate::engine::chain::{self, Hop, Source};
use crate::engine::request::{Request, Target};
use crate::env::Env;
use crate::error::Error;
use crate::sts::RoleCall;
use crate::validate;

#[derive(Debug, Clone)]
pub struct Plan {
    pub source: Source,
    pub hops: Vec<Hop>,
    /// For a profile of long-term keys with `mfa_serial` and no role: the MFA session
    /// (GetSessionToken) that is exported in their place.
    pub source_mfa: Option<SourceMfa>,
    /// A region that was given or configured; None means STS's default, us-east-1.
    pub region: Option<String>,
    /// The profile whose settings (endpoint_url, ca_bundle) apply to the STS client.
    pub config_profile: Option<String>,
    /// The STS endpoint other than the default, given or configured: credentials are cached
    /// for the endpoint that issued them only.
    pub endpoint: Option<String>,
    /// AssumeRoot, made last, with the credentials the hops lead to.
    pub root: Option<crate::sts::RootCall>,
    /// Things worth telling the user that don't stop the assume.
    pub warnings: Vec<String>,
}

pub const DEFAULT_REGION: &str = "us-east-1";

/// How a plan's credentials are got, as far as signing in to the console cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A role assumed with long-term IAM user keys: the one kind whose console session can be
    /// given a length of its own (SessionDuration).
    DirectRole,
    /// A role assumed with temporary credentials (another role, an MFA session, SSO) or a web
    /// identity token: the console session lasts as long as the credentials.
    RoleFromSession,
    /// An MFA session (GetSessionToken), which the console does not take.
    MfaSession,
    /// The source's own credentials as they are: static keys, SSO, credential_process.
    AsSourced,
}

impl Plan {
    /// The cache key of each hop, for the endpoint the plan calls.
    pub fn cache_keys(&self) -> Vec<String> {
        self.hops
            .iter()
            .map(|h| h.cache_key(self.endpoint.as_deref()))
            .collect()
    }

    /// Decided from the plan and the config alone, so a cache hit answers as a fresh assume
    /// would.
    pub fn origin(&self, profiles: &ProfileSet, env: &Env) -> Origin {
        match self.hops.as_slice() {
            [] if self.source_mfa.is_some() => Origin::MfaSession,
            [] if matches!(self.source, Source::WebIdentity { .. }) => Origin::RoleFromSession,
            [] => Origin::AsSourced,
            [hop] => {
                // As the engine does it: long-term keys and an MFA device make an MFA session
                // first, unless the role is to last over an hour.
                let o = &hop.call.options;
                let via_mfa_session =
                    o.mfa_serial.is_some() && o.duration.is_none_or(|d| d <= 3600);
                if long_term_source(&self.source, profiles, env) && !via_mfa_session {
                    Origin::DirectRole
                } else {
                    Origin::RoleFromSession
                }
            }
            _ => Origin::RoleFromSession,
        }
    }

    /// The profiles whose credentials the plan is made from (its chain and source
    /// profile): what `--write-profile` must not overwrite with the result.
    pub fn source_profiles(&self, env: &Env) -> Vec<String> {
        let mut names: Vec<String> = self.hops.iter().filter_map(|h| h.profile.clone()).collect();
        match &self.source {
            Source::Profile(p)
            | Source::StaticKeys(p)
            | Source::Provider { profile: p, .. }
            | Source::WebIdentity { profile: p, .. } => names.push(p.clone()),
            // Without keys in the environment, the default chain reads AWS_PROFILE's profile
            // or the default one.
            Source::DefaultChain if env.get("AWS_ACCESS_KEY_ID").is_none() => {
                names.push(env.var("AWS_PROFILE").unwrap_or_else(|| "default".into()))
            }
            Source::DefaultChain => {}
        }
        names
    }

    /// Whether the source credentials are keys in the environment, which the variables of
    /// the session replace.
    pub fn source_in_env(&self, env: &Env) -> bool {
        match &self.source {
            Source::DefaultChain => env.get("AWS_ACCESS_KEY_ID").is_some(),
            Source::Provider { kind, .. } => *kind == chain::CredentialSource::Environment,
            Source::Profile(_) | Source::StaticKeys(_) | Source::WebIdentity { .. } => false,
        }
    }
}

/// Whether `source` gives long-term IAM user keys (no session token), as far as the config
/// and the environment tell without asking anyone; false when they don't.
fn long_term_source(source: &Source, profiles: &ProfileSet, env: &Env) -> bool {
    let set = |k: &str| env.get(k).is_some();
    let keys_in_env = || set("AWS_ACCESS_KEY_ID") && !set("AWS_SESSION_TOKEN");
    let keys_of = |name: &str, any_kind: bool| {
        profiles.get_profile(name).is_some_and(|p| {
            let has = |k: &str| p.get(k).is_some_and(|v| !v.is_empty());
            let static_keys = (any_kind || crate::aws_files::kind(p) == "static")
                && has("aws_access_key_id")
                && !has("aws_session_token");
            static_keys || in_keyring(p)
        })
    };
    match source {
        Source::StaticKeys(p) => keys_of(p, true),
        Source::Profile(p) => keys_of(p, false),
        Source::DefaultChain if set("AWS_ACCESS_KEY_ID") => keys_in_env(),
        Source::DefaultChain => keys_of(
            &env.var("AWS_PROFILE").unwrap_or_else(|| "default".into()),
            false,
        ),
        Source::Provider {
            kind: chain::CredentialSource::Environment,
            ..
        } => keys_in_env(),
        Source::Provider { .. } | Source::WebIdentity { .. } => false,
    }
}

/// Whether a profile's credentials are long-term keys in the OS keyring: its
/// credential_process is stsenv's own `keys export`.
fn in_keyring(p: &aws_config::profile::Profile) -> bool {
    crate::aws_files::kind(p) == "process"
        && p.get("credential_process")
            .and_then(crate::keystore::own_export)
            .is_some()
}

/// An MFA session asked for on a profile without a role.
#[derive(Debug, Clone)]
pub struct SourceMfa {
    pub profile: String,
    pub serial: String,
    pub process: Option<String>,
    pub token_code: Option<String>,
    /// `--duration`, else the profile's `duration_seconds`; None: the MFA session default.
    pub duration: Option<u32>,
}

pub fn plan(req: &Request, ctx: &Context) -> Result<Plan, Error> {
    req.check()?;
    let profiles = ctx.profiles()?;
    let env = ctx.env();
    let files = ctx.config_files();
    let mut warnings = Vec::new();
    let mut source_mfa = None;
    let default_session = validate::default_session_name(ctx.user());
    let (source, hops, config_profile): (Source, Vec<Hop>, Option<String>) = match &req.target {
        Target::Profile(name) => {
            let (source, mut hops) =
                chain::walk(profiles, name, &default_session, &files, &mut warnings)?;
            match hops.last_mut() {
                Some(last) => apply_to(req, last)?,
                None => {
                    source_mfa = user_mfa(req, profiles, &source)?;
                    let flags = req.role_only_flags();
                    let allowed = |f: &&'static str| {
                        source_mfa.is_some()
                            && crate::sts::OPTIONS
                                .iter()
                                .any(|o| o.flag == *f && o.mfa_session)
                    };
                    if let Some(flag) = flags.iter().find(|f| !allowed(f)) {
                        return Err(Error::OptionNeedsRole {
                            profile: name.clone(),
                            flag,
                        });
                    }
                }
            }
            (source, hops, Some(name.clone()))
        }
        Target::Root(_) => {
            let (source, hops, source_profile, _) =
                arn_source(req, profiles, env, &default_session, &files, &mut warnings)?;
            let config_profile = source_profile.or_else(|| env.var("AWS_PROFILE"));
            (source, hops, config_profile)
        }
        Target::RoleArn(arn) => {
            let (source, mut hops, source_profile, env_key) =
                arn_source(req, profiles, env, &default_session, &files, &mut warnings)?;
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
                call: RoleCall {
                    role_arn: arn.clone(),
                    default_session,
                    ..RoleCall::default()
                },
                cache_source: Some(cache_source),
                mfa_process,
                ..Hop::default()
            };
            apply_to(req, &mut last)?;
            hops.push(last);
            let config_profile = source_profile.or_else(|| env.var("AWS_PROFILE"));
            (source, hops, config_profile)
        }
    };
    let hops = assign_token_code(hops, source_mfa.as_mut(), req.role.token_code.as_deref())?;
    let region = region(
        req.region.as_deref(),
        profiles,
        config_profile.as_deref(),
        env,
    );
    if let Some(r) = &region {
        validate::region(r)?;
    }
    let endpoint = req.endpoint_url.clone().or_else(|| {
        crate::aws_files::configured_endpoint(profiles, config_profile.as_deref(), "STS", env)
    });
    let root = match &req.target {
        Target::Root(call) => Some(call.clone()),
        _ => None,
    };
    Ok(Plan {
        source,
        hops,
        source_mfa,
        region,
        config_profile,
        endpoint,
        root,
        warnings,
    })
}

/// The source of a role ARN (or of AssumeRoot), as the AWS CLI finds it: `--profile`, else
/// keys in the environment, else AWS_PROFILE. A profile goes through stsenv's own chain walk,
/// so its MFA and session settings are honoured; everything else is aws-config's default
/// chain. Returns the source, the hops of the profile's chain, the source profile and the
/// access key in the environment.
type ArnSource = (Source, Vec<Hop>, Option<String>, Option<String>);

fn arn_source(
    req: &Request,
    profiles: &ProfileSet,
    env: &Env,
    default_session: &str,
    files: &str,
    warnings: &mut Vec<String>,
) -> Result<ArnSource, Error> {
    let env_key = env.var("AWS_ACCESS_KEY_ID");
    let source_profile = req
        .profile
        .clone()
        .or_else(|| env.var("AWS_PROFILE").filter(|_| env_key.is_none()));
    let (source, hops) = match &source_profile {
        Some(p) => chain::walk(profiles, p, default_session, files, warnings)?,
        None => (Source::DefaultChain, Vec::new()),
    };
    Ok((source, hops, source_profile, env_key))
}

/// The region as the AWS CLI picks it: given, then AWS_REGION / AWS_DEFAULT_REGION, then the
/// profile's (or the default profile's) `region`. None means STS's default, us-east-1.
pub fn region(
    given: Option<&str>,
    profiles: &ProfileSet,
    profile: Option<&str>,
    env: &Env,
) -> Option<String> {
    given
        .map(String::from)
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .or_else(|| {
            let p = profiles.get_profile(profile.unwrap_or("default"))?;
            p.get("region").map(String::from)
        })
}

/// The MFA session that a profile of long-term keys asks for with `mfa_serial` (or
/// `--mfa-serial`) and no role: what aws-vault does, and the AWS CLI can't.
fn user_mfa(
    req: &Request,
    profiles: &ProfileSet,
    source: &Source,
) -> Result<Option<SourceMfa>, Error> {
    let Source::Profile(name) = source else {
        return Ok(None);
    };
    let Some(p) = profiles.get_profile(name) else {
        return Ok(None);
    };
    let long_term = (p.get("aws_access_key_id").is_some() && p.get("aws_session_token").is_none())
        || in_keyring(p);
    let serial = req
        .role
        .mfa_serial
        .clone()
        .or_else(|| p.get("mfa_serial").map(String::from));
    let (Some(serial), true) = (serial, long_term) else {
        return Ok(None);
    };
    validate::mfa_serial(&serial)?;
    let duration = match (req.role.duration, p.get("duration_seconds")) {
        (Some(d), _) => Some(d),
        (None, Some(d)) => Some(
            validate::mfa_session_duration(d.trim())
                .ok()
                .filter(|_| d.trim().bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| Error::ProfileValue {
                    profile: name.clone(),
                    key: "duration_seconds",
                    why: format!(
                        "'{d}' is not a whole number of seconds from 900 to 129600 (36 h), the MFA sessions STS grants"
                    ),
                })?,
        ),
        (None, None) => None,
    };
    Ok(Some(SourceMfa {
        profile: name.clone(),
        serial,
        process: p.get("mfa_process").map(String::from),
        token_code: None,
        duration,
    }))
}

/// One `--token-code` serves one MFA check: it goes to the first hop that needs one (or the
/// MFA session of a profile without a role). Hops without a code get one later, from
/// mfa_process or the prompt.
fn assign_token_code(
    mut hops: Vec<Hop>,
    source_mfa: Option<&mut SourceMfa>,
    code: Option<&str>,
) -> Result<Vec<Hop>, Error> {
    let Some(code) = code else { return Ok(hops) };
    if let Some(mfa) = source_mfa {
        mfa.token_code = Some(code.to_string());
        return Ok(hops);
    }
    match hops.iter_mut().find(|h| h.call.options.mfa_serial.is_some()) {
        Some(hop) => {
            hop.call.options.token_code = Some(code.to_string());
            Ok(hops)
        }
        None => Err(Error::Usage(
            "--token-code was given but nothing needs MFA: add --mfa-serial or mfa_serial to the profile".into(),
        )),
    }
}

/// The command-line options win over the profile's for the last hop, the one the user named.
fn apply_to(req: &Request, hop: &mut Hop) -> Result<(), Error> {
    if let Some(d) = req.role.duration.filter(|d| *d > validate::MAX_DURATION) {
        return Err(Error::bad(
            "duration",
            &format!("{d}s"),
            format!("{d} s is outside what STS allows for a role, 900 s (15m) to 43200 s (12h)"),
        ));
    }
    hop.call.options = req.role.over(&hop.call.options);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[profile keys]
aws_access_key_id = AKIA
aws_secret_access_key = S
[profile temp]
aws_access_key_id = ASIA
aws_secret_access_key = S
aws_session_token = T
[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = r
[profile direct]
role_arn = arn:aws:iam::123456789012:role/direct
source_profile = keys
[profile chained]
role_arn = arn:aws:iam::123456789012:role/chained
source_profile = direct
[profile from-temp]
role_arn = arn:aws:iam::123456789012:role/t
source_profile = temp
[profile from-sso]
role_arn = arn:aws:iam::123456789012:role/s
source_profile = sso
[profile mfa]
role_arn = arn:aws:iam::123456789012:role/m
source_profile = keys
mfa_serial = arn:aws:iam::123456789012:mfa/me
[profile mfa-long]
role_arn = arn:aws:iam::123456789012:role/m
source_profile = keys
mfa_serial = arn:aws:iam::123456789012:mfa/me
duration_seconds = 7200
[profile user-mfa]
aws_access_key_id = AKIA
aws_secret_access_key = S
mfa_serial = arn:aws:iam::123456789012:mfa/me
";

    fn origin_of(target: &str, vars: &[(&str, &str)]) -> Origin {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, CONFIG).unwrap();
        let mut pairs: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.push(("AWS_CONFIG_FILE".into(), config.display().to_string()));
        pairs.push(("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()));
        pairs.push(("HOME".into(), dir.path().display().to_string()));
        let ctx = Context::new(Env::from_pairs(pairs));
        let req = Request::new(target).unwrap();
        let plan = plan(&req, &ctx).unwrap();
        plan.origin(ctx.profiles().unwrap(), ctx.env())
    }

    #[test]
    fn only_a_role_assumed_with_long_term_keys_is_direct() {
        assert_eq!(origin_of("direct", &[]), Origin::DirectRole);
        assert_eq!(origin_of("chained", &[]), Origin::RoleFromSession);
        assert_eq!(origin_of("from-temp", &[]), Origin::RoleFromSession);
        assert_eq!(origin_of("from-sso", &[]), Origin::RoleFromSession);
        // An MFA device on long-term keys means an MFA session first, unless the role is
        // to last over an hour (then the code goes on AssumeRole itself).
        assert_eq!(origin_of("mfa", &[]), Origin::RoleFromSession);
        assert_eq!(origin_of("mfa-long", &[]), Origin::DirectRole);
    }

    #[test]
    fn a_role_arn_is_direct_from_keys_in_the_environment_without_a_token() {
        let arn = "arn:aws:iam::123456789012:role/x";
        let keys = [("AWS_ACCESS_KEY_ID", "AKIA")];
        assert_eq!(origin_of(arn, &keys), Origin::DirectRole);
        let session = [("AWS_ACCESS_KEY_ID", "ASIA"), ("AWS_SESSION_TOKEN", "T")];
        assert_eq!(origin_of(arn, &session), Origin::RoleFromSession);
        assert_eq!(
            origin_of(arn, &[("AWS_PROFILE", "keys")]),
            Origin::DirectRole
        );
        assert_eq!(
            origin_of(arn, &[("AWS_PROFILE", "sso")]),
            Origin::RoleFromSession
        );
    }

    #[test]
    fn profiles_without_a_role_are_as_sourced_or_an_mfa_session() {
        assert_eq!(origin_of("keys", &[]), Origin::AsSourced);
        assert_eq!(origin_of("sso", &[]), Origin::AsSourced);
        assert_eq!(origin_of("user-mfa", &[]), Origin::MfaSession);
    }
}
