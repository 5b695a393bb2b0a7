//! `stsenv assume`: validate, resolve, answer from the cache when possible, otherwise call
//! STS hop by hop (with MFA where asked), cache, and render for the shell.
//!
//! The cache-hit path builds no async runtime, HTTP client or SDK config: it only reads the
//! config files and one cache file.

use std::future::Future;
use std::time::Duration;

use aws_config::profile::ProfileSet;
use aws_sdk_sts::config::Region;
use aws_types::os_shim_internal::{Env, Fs};

use crate::cache::{key, Cache};
use crate::cli::AssumeArgs;
use crate::credentials_file;
use crate::error::{chain, warn, warn_cache, Error};
use crate::mfa;
use crate::resolve::{self, Hop, Plan, Request, Source, DEFAULT_REGION};
use crate::session::{Credentials, Session};
use crate::shell::Shell;
use crate::source;
use crate::sts::{self, Sts};
use crate::verbose;

/// How long a second run waits for a first one that is assuming the same role (perhaps at
/// its MFA prompt) before going ahead on its own.
const LOCK_WAIT: Duration = Duration::from_secs(90);

/// Returns the text for stdout.
pub fn run(args: &AssumeArgs, shell: Shell) -> Result<String, Error> {
    let req = Request::from_args(&args.opts)?;
    if let Some(name) = &args.write_profile {
        credentials_file::check_profile_name(name)?;
        let session = assume(&req)?;
        let path = credentials_file::write_profile(name, &session.credentials)?;
        let until = session
            .credentials
            .expires
            .map(|e| format!(", valid until {}", crate::time::rfc3339(e)))
            .unwrap_or_default();
        eprintln!(
            "stsenv: wrote the credentials of {} to profile [{name}] in {}{until}; use them with `aws --profile {name} …`",
            req.target_text,
            path.display()
        );
        return Ok(String::new());
    }
    let session = assume(&req)?;
    shell.render_session(&session)
}

pub fn assume(req: &Request) -> Result<Session, Error> {
    let env = |k: &str| std::env::var(k).ok();
    let profiles = load_profiles()?;
    let plan = resolve::plan(req, &profiles, &config_files(), &env)?;
    for w in &plan.warnings {
        warn(w);
    }
    verbose::say(|| {
        let hops: Vec<&str> = plan.hops.iter().map(|h| h.role_arn.as_str()).collect();
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
    let cache = match Cache::open(req.cache, &env) {
        Ok(c) => Some(c),
        Err(why) if req.cache != resolve::CacheMode::Off => {
            warn_cache(&why);
            None
        }
        Err(_) => None,
    };
    let keys: Vec<String> = plan.hops.iter().map(key::role_key).collect();
    let session = |credentials: Credentials| Session {
        credentials,
        role_arn: plan.hops.last().map(|h| h.role_arn.clone()),
        region: plan.region.clone(),
        target: req.target_text.clone(),
    };
    let cached_last = || cache.as_ref()?.role(keys.last()?);
    if let Some(creds) = cached_last() {
        verbose::say(|| format!("cache hit: {}", cached_path(&cache, &keys)));
        return Ok(session(creds));
    }
    // Another run may be assuming this very role (and prompting for its MFA code): wait for
    // it, then look again, so that both end up with one request and one prompt.
    let _lock = match (&cache, keys.last()) {
        (Some(c), Some(k)) => c.lock(&format!("role-{k}"), LOCK_WAIT),
        _ => None,
    };
    if let Some(creds) = cached_last() {
        return Ok(session(creds));
    }
    let creds = runtime()?.block_on(fetch(req, &plan, &profiles, cache.as_ref(), &keys))?;
    Ok(session(creds))
}

fn cached_path(cache: &Option<Cache>, keys: &[String]) -> String {
    match (cache, keys.last()) {
        (Some(c), Some(k)) => c.role_path(k).display().to_string(),
        _ => "(none)".into(),
    }
}

async fn fetch(
    req: &Request,
    plan: &Plan,
    profiles: &ProfileSet,
    cache: Option<&Cache>,
    keys: &[String],
) -> Result<Credentials, Error> {
    let region = plan.region.as_deref().unwrap_or(DEFAULT_REGION);
    let http = sts::http_client();
    // Start above the highest hop that is still cached: its credentials stand in for
    // everything below it.
    let below_last = plan.hops.len().saturating_sub(1);
    let cached = (0..below_last)
        .rev()
        .find_map(|i| Some((i + 1, cache?.role(&keys[i])?)));
    let (start, mut creds, mut label) = match cached {
        Some((start, creds)) => (
            start,
            creds,
            format!("of role {}", plan.hops[start - 1].role_arn),
        ),
        None => {
            let region = Region::new(region.to_string());
            let provider_config = source::provider_config(&region, http.clone(), req.timeout);
            let creds =
                source::credentials(&plan.source, profiles, &provider_config, &region).await?;
            (0, creds, plan.source.label())
        }
    };
    if plan.hops.is_empty() {
        return Ok(creds);
    }
    let sts = Sts::new(
        region,
        req.endpoint_url.as_deref(),
        plan.config_profile.as_deref(),
        req.timeout,
        http,
    )
    .await;
    for (i, (planned, key)) in plan.hops.iter().zip(keys).enumerate().skip(start) {
        let mut hop = planned.clone();
        if let Some(serial) = hop.mfa_serial.clone() {
            if i == 0 && creds.session_token.is_none() {
                // Long-term keys: one MFA session serves every role behind them.
                creds = mfa_session(&sts, cache, &plan.source, &creds, &serial, &hop, req).await?;
                label = format!("{} (MFA session)", plan.source.label());
                hop.mfa_serial = None;
                hop.token_code = None;
            } else if hop.token_code.is_none() {
                hop.token_code = Some(mfa::code(&need(&hop, &serial))?);
            }
        }
        verbose::say(|| {
            let mfa = if hop.token_code.is_some() {
                " with an MFA code"
            } else {
                ""
            };
            format!(
                "AssumeRole {} as {}{mfa} at {}",
                hop.role_arn,
                hop.session_name,
                sts.endpoint()
            )
        });
        let (next, assumed_arn) = sts.assume_role(&creds, &hop, &label).await?;
        let expired = next.expires.is_some_and(|e| e <= crate::time::now());
        if expired {
            warn(&format!(
                "STS says the credentials for {} expired at {}, already past by this machine's clock; check the clock (they are exported anyway)",
                hop.role_arn,
                next.expires.map(crate::time::rfc3339).unwrap_or_default()
            ));
        }
        if let (Some(c), false) = (cache, expired) {
            match c.store_role(key, &next, assumed_arn.as_deref(), &req.target_text) {
                Ok(()) => verbose::say(|| format!("cached in {}", c.role_path(key).display())),
                Err(e) => warn_cache(&format!(
                    "could not cache credentials in {}: {e}",
                    c.role_dir.display()
                )),
            }
        }
        creds = next;
        label = format!("of role {}", hop.role_arn);
    }
    Ok(creds)
}

fn need<'a>(hop: &'a Hop, serial: &'a str) -> mfa::Need<'a> {
    mfa::Need {
        serial,
        label: hop.profile.as_deref().unwrap_or(&hop.role_arn),
        process: hop.mfa_process.as_deref(),
    }
}

/// The cached MFA session for these keys and device, or a new one from GetSessionToken.
async fn mfa_session(
    sts: &Sts,
    cache: Option<&Cache>,
    source: &Source,
    base: &Credentials,
    serial: &str,
    hop: &Hop,
    req: &Request,
) -> Result<Credentials, Error> {
    let source_name = match source {
        Source::Profile(p) | Source::StaticKeys(p) | Source::Provider { profile: p, .. } => {
            p.clone()
        }
        Source::DefaultChain => "(default chain)".to_string(),
    };
    let key = &base.access_key_id;
    let mfa_key = key::sha1_hex(&format!("{source_name}\n{serial}\n{key}"));
    let _lock = cache.and_then(|c| c.lock(&format!("mfa-{mfa_key}"), LOCK_WAIT));
    if let Some(creds) = cache.and_then(|c| c.mfa_session(&source_name, serial, key)) {
        verbose::say(|| format!("MFA session for {serial} from the cache"));
        return Ok(creds);
    }
    let code = match &hop.token_code {
        Some(c) => c.clone(),
        None => mfa::code(&need(hop, serial))?,
    };
    verbose::say(|| {
        format!(
            "GetSessionToken with MFA device {serial} at {}",
            sts.endpoint()
        )
    });
    let creds = sts
        .get_session_token(
            base,
            serial,
            &code,
            req.mfa_session_duration,
            &source.label(),
        )
        .await?;
    if let Some(c) = cache {
        if let Err(e) = c.store_mfa_session(&source_name, serial, key, &creds) {
            warn_cache(&format!(
                "could not cache the MFA session in {}: {e}",
                c.own_dir.display()
            ));
        }
    }
    Ok(creds)
}

/// The runtime for the paths that make requests; the others never build one.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

pub fn load_profiles() -> Result<ProfileSet, Error> {
    // aws-config passes over a config file it can't read as if it were missing; a user
    // whose profiles vanish because of a permission deserves to be told.
    for (var, default) in [
        ("AWS_CONFIG_FILE", ".aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
    ] {
        if let Some(path) = config_path(var, default) {
            check_readable(&path)?;
        }
    }
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let (fs, env) = (Fs::real(), Env::real());
    block_on(aws_config::profile::load(&fs, &env, &files, None))
        .map_err(|e| Error::Config(chain(&e)))
}

/// The path aws-config reads for `var`, with `~/` expanded as it does.
pub fn config_path(var: &str, default: &str) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(std::path::PathBuf::from);
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(p) => match (p.strip_prefix("~/"), home) {
            (Some(rest), Some(h)) => Some(h.join(rest)),
            _ => Some(p.into()),
        },
        None => Some(home?.join(default)),
    }
}

fn check_readable(path: &std::path::Path) -> Result<(), Error> {
    let unreadable = |why: String| {
        Error::Config(format!(
            "{} ({why}); check that it is a file you can read",
            path.display()
        ))
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(unreadable(e.to_string())),
        Ok(m) if m.is_dir() => Err(unreadable("it is a directory".into())),
        Ok(_) => std::fs::File::open(path)
            .map(|_| ())
            .map_err(|e| unreadable(e.to_string())),
    }
}

/// Runs a future that does no real waiting (aws-config reads profile files synchronously
/// behind an async API) without starting a runtime; falls back to one if it ever does wait.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
            .block_on(fut),
    }
}

/// How messages name the config files: the paths the AWS CLI would read.
pub fn config_files() -> String {
    let path = |var: &str, default: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    format!(
        "{} or {}",
        path("AWS_CONFIG_FILE", "~/.aws/config"),
        path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    )
}
