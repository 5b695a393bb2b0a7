//! Making sure an SSO profile has a token before aws-config reads it: a token with time left
//! is used as it is; one near its end is refreshed; a missing or expired one is signed in
//! anew on the terminal when a person is there, or else named with what to run. And the one
//! place that picks the sign-in flow, for `login` and for these automatic sign-ins alike.

use std::time::Duration;

use aws_config::profile::ProfileSet;

use crate::context::Context;
use crate::engine::chain::{self, Source};
use crate::error::Error;
use crate::net::Net;
use crate::sso::cache::{self, TokenCache, WINDOW_SECS};
use crate::sso::flow::{self, Flow};
use crate::sso::prompt::TerminalUi;
use crate::sso::{code, device, oidc, SsoConfig};
use crate::tty;
use crate::verbose;

/// How a new sign-in goes, as the person asked (`login`'s flags; the defaults elsewhere).
#[derive(Debug, Clone)]
pub struct SignIn {
    /// `--use-device-code`.
    pub use_device_code: bool,
    /// False with `--no-browser`: the URL is only printed.
    pub open_browser: bool,
    /// How long the browser has to come back (`--wait`).
    pub wait: Duration,
}

impl Default for SignIn {
    fn default() -> SignIn {
        SignIn {
            use_device_code: false,
            open_browser: true,
            wait: code::DEFAULT_WAIT,
        }
    }
}

/// How `login` got its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedIn {
    /// With the cached token's refresh token: no browser, no prompt.
    Refreshed,
    SignedIn,
}

/// `stsenv login`: the cached token renewed with its refresh token when it has one and a
/// live registration (unless `force`), else a new sign-in as `how` says. The token is the
/// caller's to keep.
pub async fn login(
    ctx: &Context,
    cfg: &SsoConfig,
    net: &Net,
    how: &SignIn,
    force: bool,
) -> Result<(cache::Token, LoggedIn), Error> {
    let tokens = token_cache(ctx)?;
    let ui = TerminalUi::new(how.open_browser);
    if !force {
        if let Some(t) = tokens.read_token(cfg).filter(|t| t.refreshable()) {
            match oidc::refresh(cfg, net, &t).await {
                Ok(fresh) => return Ok((fresh, LoggedIn::Refreshed)),
                Err(e) => ui.say(&format!(
                    "could not renew the token of {} with its refresh token ({e}); signing in anew",
                    cfg.label()
                )),
            }
        }
    }
    ui.say(&format!(
        "signing in to {} ({})",
        cfg.label(),
        cfg.start_url
    ));
    let token = sign_in(ctx, cfg, net, &ui, &tokens, how).await?;
    Ok((token, LoggedIn::SignedIn))
}

/// A new sign-in, with the flow `flow::choose` picks (and its reason said, when it is the
/// device code).
async fn sign_in(
    ctx: &Context,
    cfg: &SsoConfig,
    net: &Net,
    ui: &TerminalUi,
    tokens: &TokenCache,
    how: &SignIn,
) -> Result<cache::Token, Error> {
    match flow::choose(cfg, ctx.env(), how.use_device_code) {
        Flow::Code => code::login(cfg, net, ui, tokens, how.wait).await,
        Flow::Device(why) => {
            ui.say(&why.line());
            device::login(cfg, net, ui, tokens).await
        }
    }
}

/// `profile`: the SSO profile whose credentials are needed; `login`: whether a sign-in may be
/// started here (not with `--no-login`).
pub async fn ensure_token(
    ctx: &Context,
    profile: &str,
    net: &Net,
    login: bool,
) -> Result<(), Error> {
    match SsoConfig::from_profile(ctx.profiles()?, profile)? {
        Some(cfg) => ensure(ctx, &cfg, net, login, profile).await.map(|_| ()),
        None => Ok(()),
    }
}

/// This user's SSO token cache, or the error that says there is none.
pub fn token_cache(ctx: &Context) -> Result<TokenCache, Error> {
    TokenCache::open(ctx.env()).ok_or(Error::NoHome("AWS_CONFIG_FILE"))
}

/// A token of `cfg` with time left, renewed or signed in as `ensure_token` says; `login_args`
/// is what to pass `stsenv login` when nobody can sign in here.
pub async fn ensure(
    ctx: &Context,
    cfg: &SsoConfig,
    net: &Net,
    login: bool,
    login_args: &str,
) -> Result<cache::Token, Error> {
    let cfg = cfg.clone();
    let tokens = token_cache(ctx)?;
    let token = tokens.read_token(&cfg);
    let left = token.as_ref().map_or(i64::MIN, |t| t.left());
    let had_token = token.is_some();
    match token {
        Some(t) if left > WINDOW_SECS => return Ok(t),
        Some(t) if t.refreshable() => {
            verbose::say(|| format!("refreshing the token of {}", cfg.label()));
            match oidc::refresh(&cfg, net, &t).await {
                Ok(fresh) => {
                    save(&tokens, &cfg, &fresh);
                    return Ok(fresh);
                }
                Err(e) if left > 0 => {
                    // Still good for a while: use it.
                    verbose::say(|| format!("could not refresh {}: {e}", cfg.label()));
                    return Ok(t);
                }
                Err(e) => verbose::say(|| format!("could not refresh {}: {e}", cfg.label())),
            }
        }
        Some(t) if left > 0 => return Ok(t),
        _ => {}
    }
    let what = if had_token {
        format!("{} has expired", cfg.label())
    } else {
        format!("you are not signed in to {}", cfg.label())
    };
    if !login || !tty::interactive() {
        return Err(Error::SsoLoginNeeded {
            what,
            profile: login_args.to_string(),
        });
    }
    let ui = TerminalUi::new(true);
    ui.say(&format!("{what}; signing in to {}", cfg.start_url));
    let fresh = sign_in(ctx, &cfg, net, &ui, &tokens, &SignIn::default()).await?;
    save(&tokens, &cfg, &fresh);
    ui.say(&format!("signed in to {}", cfg.label()));
    Ok(fresh)
}

fn save(tokens: &TokenCache, cfg: &SsoConfig, token: &cache::Token) {
    if let Err(e) = tokens.write_token(cfg, token) {
        crate::error::warn(&format!(
            "could not keep the SSO token in ~/.aws/sso/cache ({e}); you will be asked to sign in again"
        ));
    }
}

/// The sign-in `profile` or `session` names; with neither, AWS_PROFILE's (or the default)
/// profile's, else the only `[sso-session]`. A role profile leads to the SSO profile at the
/// root of its chain. Returns the profile too, when there is one.
pub fn sso_config(
    ctx: &Context,
    profile: Option<&str>,
    session: Option<&str>,
) -> Result<(SsoConfig, Option<String>), Error> {
    let profiles = ctx.profiles()?;
    if let Some(s) = session {
        return Ok((
            SsoConfig::from_session(profiles, s)?,
            profile.map(String::from),
        ));
    }
    let named = profile
        .map(String::from)
        .or_else(|| ctx.env().var("AWS_PROFILE"));
    let candidate = named.clone().unwrap_or_else(|| "default".into());
    if profiles.get_profile(&candidate).is_some() {
        if let Some(cfg) = of_profile(profiles, &candidate, &ctx.config_files())? {
            return Ok((cfg, Some(candidate)));
        }
        if named.is_some() {
            return Err(Error::Sso(format!(
                "profile '{candidate}' doesn't sign in with IAM Identity Center (no sso_session, nor sso_start_url and sso_region, in it or its source_profile)"
            )));
        }
    } else if named.is_some() {
        return Err(chain::unknown_profile(
            profiles,
            &candidate,
            &ctx.config_files(),
            &[],
        ));
    }
    let sessions: Vec<&str> = profiles.sso_sessions().collect();
    match sessions.as_slice() {
        [only] => Ok((SsoConfig::from_session(profiles, only)?, None)),
        [] => Err(Error::Sso(
            "there is no IAM Identity Center sign-in in the AWS config: add an [sso-session] (sso_start_url, sso_region), or name a profile".into(),
        )),
        many => Err(Error::Sso(format!(
            "there are several SSO sessions ({}): name one with --sso-session, or a profile",
            many.join(", ")
        ))),
    }
}

/// The SSO sign-in of `name`, or of the profile at the root of its role chain.
fn of_profile(profiles: &ProfileSet, name: &str, files: &str) -> Result<Option<SsoConfig>, Error> {
    if let Some(cfg) = SsoConfig::from_profile(profiles, name)? {
        return Ok(Some(cfg));
    }
    let mut warnings = Vec::new();
    match chain::walk(profiles, name, "stsenv", files, &mut warnings) {
        Ok((Source::Profile(root), _)) if root != name => SsoConfig::from_profile(profiles, &root),
        _ => Ok(None),
    }
}
