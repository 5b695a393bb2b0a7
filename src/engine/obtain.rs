//! From a request to a session: plan, answer from the cache when possible, otherwise get the
//! source credentials and call STS hop by hop (with MFA where asked), and cache.
//!
//! The cache-hit path builds no async runtime, HTTP client or SDK config: it only reads the
//! config files and one cache file.

use std::time::Duration;

use aws_sdk_sts::config::Region;

use crate::cache::{About, Cache, Key};
use crate::context::Context;
use crate::engine::chain::{Hop, Source};
use crate::engine::plan::{Plan, DEFAULT_REGION};
use crate::engine::request::{CacheMode, Request};
use crate::engine::source;
use crate::error::{warn, warn_cache, Error};
use crate::mfa;
use crate::net::{self, Net};
use crate::session::{Credentials, Session};
use crate::sts::Sts;
use crate::verbose;

/// How long a second run waits for a first one that is assuming the same role (perhaps at
/// its MFA prompt) before going ahead on its own.
const LOCK_WAIT: Duration = Duration::from_secs(90);

/// The credentials `plan` (made for `req`) leads to, from the cache or from STS.
pub fn obtain(ctx: &Context, req: &Request, plan: &Plan) -> Result<Session, Error> {
    for w in &plan.warnings {
        warn(w);
    }
    verbose::say(|| {
        let hops: Vec<&str> = plan.hops.iter().map(|h| h.call.role_arn.as_str()).collect();
        format!(
            "credentials {}, then AssumeRole: {}; region {}",
            plan.source.label(),
            if hops.is_empty() {
                "none".to_string()
            } else {
                hops.join(" -> ")
            },
            plan.region.as_deref().unwrap_or("us-east-1 (default)")
        )
    });
    let cache = open_cache(ctx, req.cache);
    let keys: Vec<Key> = plan.cache_keys().into_iter().map(Key::Role).collect();
    let source_in_env = plan.source_in_env(ctx.env());
    let session = |credentials: Credentials| Session {
        credentials,
        role_arn: plan.hops.last().map(|h| h.call.role_arn.clone()),
        region: plan.region.clone(),
        target: req.target_text.clone(),
        source_in_env,
        replay: None,
    };
    let cached_last = || cache.as_ref()?.get(keys.last()?);
    if let Some(creds) = cached_last() {
        verbose::say(|| format!("cache hit: {}", cached_path(&cache, &keys)));
        return Ok(session(creds));
    }
    // Another run may be assuming this very role (and prompting for its MFA code): wait for
    // it, then look again, so that both end up with one request and one prompt.
    let _lock = match (&cache, keys.last()) {
        (Some(c), Some(k)) => c.lock(
            k,
            LOCK_WAIT,
            &format!("the credentials of {}", req.target_text),
        ),
        _ => None,
    };
    if let Some(creds) = cached_last() {
        return Ok(session(creds));
    }
    // A credential_process profile as it is needs no network: its helper runs (or its
    // cached output is read) without building a runtime or an HTTP client.
    if plan.hops.is_empty() && plan.source_mfa.is_none() && plan.root.is_none() {
        if let Some((profile, command)) =
            source::process_of(&plan.source, ctx.profiles()?, ctx.env())
        {
            let creds = source::process_credentials(profile, command, req.timeout, cache.as_ref())?;
            return Ok(session(creds));
        }
    }
    let net = ctx.net(req.timeout, plan.config_profile.as_deref())?;
    let creds = net::runtime()?.block_on(fetch(ctx, &net, req, plan, cache.as_ref(), &keys))?;
    Ok(session(creds))
}

/// The cache for `mode`, or None (with one warning) when there is none to use.
pub fn open_cache(ctx: &Context, mode: CacheMode) -> Option<Cache> {
    match Cache::open(mode, ctx.env()) {
        Ok(c) => Some(c),
        Err(why) if mode != CacheMode::Off => {
            warn_cache(&why);
            None
        }
        Err(_) => None,
    }
}

fn cached_path(cache: &Option<Cache>, keys: &[Key]) -> String {
    match (cache, keys.last()) {
        (Some(c), Some(k)) => c.location(k).display().to_string(),
        _ => "(none)".into(),
    }
}

async fn fetch(
    ctx: &Context,
    net: &Net,
    req: &Request,
    plan: &Plan,
    cache: Option<&Cache>,
    keys: &[Key],
) -> Result<Credentials, Error> {
    let region = plan.region.as_deref().unwrap_or(DEFAULT_REGION);
    let needs_sts = !plan.hops.is_empty()
        || plan.source_mfa.is_some()
        || plan.root.is_some()
        || matches!(plan.source, Source::WebIdentity { .. });
    let sts = match needs_sts {
        true => Some(
            Sts::new(
                net,
                region,
                req.endpoint_url.as_deref(),
                plan.config_profile.as_deref(),
            )
            .await,
        ),
        false => None,
    };
    // Start above the highest hop that is still cached: its credentials stand in for
    // everything below it.
    let below_last = plan.hops.len().saturating_sub(1);
    let cached = (0..below_last)
        .rev()
        .find_map(|i| Some((i + 1, cache?.get(&keys[i])?)));
    let (start, mut creds, mut label) = match cached {
        Some((start, creds)) => (
            start,
            creds,
            format!("of role {}", plan.hops[start - 1].call.role_arn),
        ),
        None => {
            let creds = match (&plan.source, &sts) {
                (source @ Source::WebIdentity { .. }, Some(sts)) => {
                    web_identity(ctx, sts, source).await?
                }
                (source, _) => {
                    let region = Region::new(region.to_string());
                    source::credentials(source, ctx, net, &region, !req.no_login, cache).await?
                }
            };
            (0, creds, plan.source.label())
        }
    };
    let Some(sts) = sts else {
        return Ok(creds);
    };
    if let Some(mfa) = &plan.source_mfa {
        let ask = Ask {
            serial: &mfa.serial,
            label: &mfa.profile,
            process: mfa.process.as_deref(),
            code: mfa.token_code.as_deref(),
            duration: mfa.duration.unwrap_or(req.mfa_session_duration),
        };
        return mfa_session(&sts, cache, &plan.source, &creds, &ask, req).await;
    }
    for (i, (planned, key)) in plan.hops.iter().zip(keys).enumerate().skip(start) {
        let mut hop = planned.clone();
        if let Some(serial) = hop.call.options.mfa_serial.clone() {
            let long_term = i == 0 && creds.session_token.is_none();
            // A role assumed with an MFA session's credentials lasts an hour at most: for
            // longer, the code goes on the AssumeRole itself, signed with the keys.
            let longer = hop.call.options.duration.is_some_and(|d| d > 3600);
            if long_term && !longer {
                // Long-term keys: one MFA session serves every role behind them.
                let ask = Ask {
                    serial: &serial,
                    label: hop.profile.as_deref().unwrap_or(&hop.call.role_arn),
                    process: hop.mfa_process.as_deref(),
                    code: hop.call.options.token_code.as_deref(),
                    duration: req.mfa_session_duration,
                };
                creds = mfa_session(&sts, cache, &plan.source, &creds, &ask, req).await?;
                label = format!("{} (MFA session)", plan.source.label());
                hop.call.options.mfa_serial = None;
                hop.call.options.token_code = None;
            } else {
                if long_term {
                    verbose::say(|| {
                        format!(
                            "{} s is more than a role assumed with an MFA session can last (1 h): the MFA code goes on AssumeRole itself, without an MFA session",
                            hop.call.options.duration.unwrap_or_default()
                        )
                    });
                }
                if hop.call.options.token_code.is_none() {
                    hop.call.options.token_code = Some(mfa::code(&need(&hop, &serial, req))?);
                }
            }
        }
        verbose::say(|| {
            let mfa = if hop.call.options.token_code.is_some() {
                " with an MFA code"
            } else {
                ""
            };
            format!(
                "AssumeRole {} as {}{mfa} at {}",
                hop.call.role_arn,
                hop.call.session_name(),
                sts.endpoint()
            )
        });
        let (next, assumed_arn) = sts.assume_role(&creds, &hop.call, &label).await?;
        let expired = next.expires.is_some_and(|e| e <= crate::time::now());
        if expired {
            warn(&format!(
                "STS says the credentials for {} expired at {}, already past by this machine's clock; check the clock (they are exported anyway)",
                hop.call.role_arn,
                next.expires.map(crate::time::rfc3339).unwrap_or_default()
            ));
        }
        if let (Some(c), false) = (cache, expired) {
            let about = About {
                target: &req.target_text,
                assumed_arn: assumed_arn.as_deref(),
            };
            match c.put(key, &next, &about) {
                Ok(true) => verbose::say(|| format!("cached in {}", c.location(key).display())),
                Ok(false) => {}
                Err(e) => warn_cache(&format!(
                    "could not cache credentials in {}: {e}",
                    c.folder(key).display()
                )),
            }
        }
        creds = next;
        label = format!("of role {}", hop.call.role_arn);
    }
    if let Some(root) = &plan.root {
        verbose::say(|| {
            format!(
                "AssumeRoot in account {} for {} ({} s) at {}",
                root.account,
                root.task_arn,
                root.duration,
                sts.endpoint()
            )
        });
        creds = sts.assume_root(&creds, root, &label).await?;
    }
    Ok(creds)
}

/// AssumeRoleWithWebIdentity for a profile with `role_arn` and `web_identity_token_file`;
/// the profile's settings win over AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE.
async fn web_identity(ctx: &Context, sts: &Sts, source: &Source) -> Result<Credentials, Error> {
    let Source::WebIdentity {
        profile,
        role_arn,
        token_file,
        session_name,
    } = source
    else {
        unreachable!("called for a web identity source only");
    };
    let path = crate::aws_files::expand_home(ctx.env(), token_file);
    let unreadable = |why: String| Error::ProfileValue {
        profile: profile.clone(),
        key: "web_identity_token_file",
        why: format!("{} cannot be read ({why})", path.display()),
    };
    let token = crate::fsutil::read_text(&path, 64 << 10)
        .map_err(unreadable)?
        .ok_or_else(|| unreadable("no such file".into()))?;
    verbose::say(|| {
        format!(
            "AssumeRoleWithWebIdentity {role_arn} as {session_name} (token from {}) at {}",
            path.display(),
            sts.endpoint()
        )
    });
    sts.assume_role_with_web_identity(role_arn, session_name, &token, &source.label())
        .await
}

/// What to ask for an MFA session: the device, who asks (for the prompt), where a code
/// comes from, and how long the session lasts.
struct Ask<'a> {
    serial: &'a str,
    label: &'a str,
    process: Option<&'a str>,
    code: Option<&'a str>,
    duration: u32,
}

fn need<'a>(hop: &'a Hop, serial: &'a str, req: &Request) -> mfa::Need<'a> {
    mfa::Need {
        serial,
        label: hop.profile.as_deref().unwrap_or(&hop.call.role_arn),
        process: hop.mfa_process.as_deref(),
        timeout: req.timeout,
    }
}

/// The cached MFA session for these keys and device, or a new one from GetSessionToken.
async fn mfa_session(
    sts: &Sts,
    cache: Option<&Cache>,
    source: &Source,
    base: &Credentials,
    ask: &Ask<'_>,
    req: &Request,
) -> Result<Credentials, Error> {
    let serial = ask.serial;
    let source_name = match source {
        Source::Profile(p)
        | Source::StaticKeys(p)
        | Source::Provider { profile: p, .. }
        | Source::WebIdentity { profile: p, .. } => p.clone(),
        Source::DefaultChain => "(default chain)".to_string(),
    };
    let key = Key::Mfa {
        source: source_name.clone(),
        serial: serial.to_string(),
        access_key_id: base.access_key_id.clone(),
    };
    let _lock =
        cache.and_then(|c| c.lock(&key, LOCK_WAIT, &format!("an MFA session for {serial}")));
    if let Some(creds) = cache.and_then(|c| c.get(&key)) {
        verbose::say(|| format!("MFA session for {serial} from the cache"));
        return Ok(creds);
    }
    let code = match ask.code {
        Some(c) => c.to_string(),
        None => mfa::code(&mfa::Need {
            serial,
            label: ask.label,
            process: ask.process,
            timeout: req.timeout,
        })?,
    };
    verbose::say(|| {
        format!(
            "GetSessionToken with MFA device {serial} for {} s at {}",
            ask.duration,
            sts.endpoint()
        )
    });
    let creds = sts
        .get_session_token(base, serial, &code, ask.duration, &source.label())
        .await?;
    if let Some(c) = cache {
        let about = About {
            target: &source_name,
            assumed_arn: None,
        };
        match c.put(&key, &creds, &about) {
            Ok(true) => {
                verbose::say(|| format!("MFA session cached in {}", c.folder(&key).display()))
            }
            Ok(false) => {}
            Err(e) => warn_cache(&format!(
                "could not cache the MFA session in {}: {e}",
                c.folder(&key).display()
            )),
        }
    }
    Ok(creds)
}
