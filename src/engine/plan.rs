//! From a request and what ~/.aws/config says to a plan: where the first credentials come
//! from, and which AssumeRole calls to make on top of them. Makes no request.

use aws_config::profile::ProfileSet;

use crate::engine::chain::{self, Hop, Source};
use crate::engine::request::{Request, Target};
use crate::error::Error;
use crate::sts::RoleCall;
use crate::validate;

#[derive(Debug)]
pub struct Plan {
    pub source: Source,
    pub hops: Vec<Hop>,
    /// For a profile of long-term keys with `mfa_serial` and no role: the MFA session
    /// (GetSessionToken) that is exported in their place.
    pub source_mfa: Option<SourceMfa>,
    /// A region that was given or configured; None means STS's default, us-east-1.
    pub region: Option<String>,
    /// The profile whose settings (endpoint_url) apply to the STS client.
    pub config_profile: Option<String>,
    /// The STS endpoint other than the default, given or configured: credentials are cached
    /// for the endpoint that issued them only.
    pub endpoint: Option<String>,
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
    /// would. `env` reads the process environment.
    pub fn origin(&self, profiles: &ProfileSet, env: &dyn Fn(&str) -> Option<String>) -> Origin {
        match self.hops.as_slice() {
            [] if self.source_mfa.is_some() => Origin::MfaSession,
            [] if matches!(self.source, Source::WebIdentity { .. }) => Origin::RoleFromSession,
            [] => Origin::AsSourced,
            [hop] => {
                // As the engine does it: long-term keys and an MFA device make an MFA session
                // first, unless the role is to last over an hour.
                let via_mfa_session =
                    hop.call.mfa_serial.is_some() && hop.call.duration.is_none_or(|d| d <= 3600);
                if long_term_source(&self.source, profiles, env) && !via_mfa_session {
                    Origin::DirectRole
                } else {
                    Origin::RoleFromSession
                }
            }
            _ => Origin::RoleFromSession,
        }
    }
}

/// Whether `source` gives long-term IAM user keys (no session token), as far as the config
/// and the environment tell without asking anyone; false when they don't.
fn long_term_source(
    source: &Source,
    profiles: &ProfileSet,
    env: &dyn Fn(&str) -> Option<String>,
) -> bool {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    let keys_in_env = || set("AWS_ACCESS_KEY_ID") && !set("AWS_SESSION_TOKEN");
    let keys_of = |name: &str, any_kind: bool| {
        profiles.get_profile(name).is_some_and(|p| {
            let has = |k: &str| p.get(k).is_some_and(|v| !v.is_empty());
            (any_kind || crate::aws_files::kind(p) == "static")
                && has("aws_access_key_id")
                && !has("aws_session_token")
        })
    };
    match source {
        Source::StaticKeys(p) => keys_of(p, true),
        Source::Profile(p) => keys_of(p, false),
        Source::DefaultChain if set("AWS_ACCESS_KEY_ID") => keys_in_env(),
        Source::DefaultChain => keys_of(
            &env("AWS_PROFILE")
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "default".into()),
            false,
        ),
        Source::Provider {
            kind: chain::CredentialSource::Environment,
            ..
        } => keys_in_env(),
        Source::Provider { .. } | Source::WebIdentity { .. } => false,
    }
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

/// `env` reads the process environment (a parameter so tests can pass their own).
pub fn plan(
    req: &Request,
    profiles: &ProfileSet,
    files: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, Error> {
    req.check()?;
    let mut warnings = Vec::new();
    let mut source_mfa = None;
    let default_session = validate::default_session_name(
        env("USER")
            .or_else(|| env("LOGNAME"))
            .or_else(|| env("USERNAME"))
            .or_else(login_name)
            .as_deref(),
    );
    let (source, hops, config_profile): (Source, Vec<Hop>, Option<String>) = match &req.target {
        Target::Profile(name) => {
            let (source, mut hops) =
                chain::walk(profiles, name, &default_session, files, &mut warnings)?;
            match hops.last_mut() {
                Some(last) => apply_to(req, last)?,
                None => {
                    source_mfa = user_mfa(req, profiles, &source)?;
                    let allowed: &[&str] = match source_mfa {
                        Some(_) => &["--mfa-serial", "--duration"],
                        None => &[],
                    };
                    let flags = req.role_only_flags();
                    if let Some(flag) = flags.iter().find(|f| !allowed.contains(f)) {
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
                Some(p) => chain::walk(profiles, p, &default_session, files, &mut warnings)?,
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
                call: RoleCall {
                    role_arn: arn.clone(),
                    session_name: default_session,
                    ..RoleCall::default()
                },
                cache_source: Some(cache_source),
                mfa_process,
                ..Hop::default()
            };
            apply_to(req, &mut last)?;
            hops.push(last);
            let config_profile = source_profile.or_else(|| env("AWS_PROFILE"));
            (source, hops, config_profile)
        }
    };
    let hops = assign_token_code(hops, source_mfa.as_mut(), req.token_code.as_deref())?;
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
    Ok(Plan {
        source,
        hops,
        source_mfa,
        region,
        config_profile,
        endpoint,
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
    let long_term = p.get("aws_access_key_id").is_some() && p.get("aws_session_token").is_none();
    let serial = req
        .mfa_serial
        .clone()
        .or_else(|| p.get("mfa_serial").map(String::from));
    let (Some(serial), true) = (serial, long_term) else {
        return Ok(None);
    };
    validate::mfa_serial(&serial)?;
    let duration = match (req.duration, p.get("duration_seconds")) {
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

/// The account name of this process's user, for the default session name when USER and
/// LOGNAME are not set.
fn login_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = vec![0 as libc::c_char; 4096];
        // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into buf, of
        // the length given, and sets result to null when there is no entry.
        unsafe {
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwuid_r(
                libc::geteuid(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            );
            if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
                return None;
            }
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_str()
                .ok()
                .filter(|n| !n.is_empty())
                .map(String::from)
        }
    }
    #[cfg(not(unix))]
    None
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
    match hops.iter_mut().find(|h| h.call.mfa_serial.is_some()) {
        Some(hop) => {
            hop.call.token_code = Some(code.to_string());
            Ok(hops)
        }
        None => Err(Error::Usage(
            "--token-code was given but nothing needs MFA: add --mfa-serial or mfa_serial to the profile".into(),
        )),
    }
}

/// The command-line options win over the profile's for the last hop, the one the user named.
fn apply_to(req: &Request, hop: &mut Hop) -> Result<(), Error> {
    if let Some(d) = req.duration.filter(|d| *d > validate::MAX_DURATION) {
        return Err(Error::bad(
            "duration",
            &format!("{d}s"),
            format!("{d} s is outside what STS allows for a role, 900 s (15m) to 43200 s (12h)"),
        ));
    }
    let call = &mut hop.call;
    if let Some(n) = &req.session_name {
        call.session_name = n.clone();
        hop.session_name_configured = true;
    }
    call.duration = req.duration.or(call.duration);
    call.external_id = req.external_id.clone().or(call.external_id.take());
    call.mfa_serial = req.mfa_serial.clone().or(call.mfa_serial.take());
    call.policy = req.policy.clone();
    call.policy_arns = req.policy_arns.clone();
    call.tags = req.tags.clone();
    call.source_identity = req.source_identity.clone();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(text: &str) -> ProfileSet {
        crate::aws_files::profiles_from_text(text).unwrap()
    }

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
        let set = profiles(CONFIG);
        let env = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        let req = Request::new(target).unwrap();
        plan(&req, &set, "f", &env).unwrap().origin(&set, &env)
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
