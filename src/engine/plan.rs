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
    req.check()?;
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
                chain::walk(profiles, name, &default_session, files, &mut warnings)?;
            match hops.last_mut() {
                Some(last) => apply_to(req, last),
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
            apply_to(req, &mut last);
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
fn apply_to(req: &Request, hop: &mut Hop) {
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
}
