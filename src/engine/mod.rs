//! The credential engine: from a plain `Request` to a `Session` (plan, cache, source
//! credentials, MFA, the hops). Every command that needs credentials comes through this
//! face, and only this one; it knows nothing of the command line or of how the result is
//! shown.

mod chain;
mod obtain;
mod plan;
mod request;
mod signin;
mod source;

use aws_sdk_sts::config::Region;

use crate::cache::{Cache, Key, What};
use crate::context::Context;
use crate::error::Error;
use crate::net::{self, Net};
use crate::session::{Credentials, Session};

pub use chain::unknown_profile;
pub use plan::{region, Origin, DEFAULT_REGION};
pub use request::{default_timeout, CacheMode, Request, Target, DEFAULT_MFA_SESSION};
pub use signin::{
    ensure as ensure_sso_token, login as sso_login, sso_config, token_cache, LoggedIn, SignIn,
};

/// A request planned against one run's config, once: then asked how its credentials are
/// got, what they come from, and for the credentials themselves. Owns what it needs, so a
/// long-lived server can keep one and obtain again.
#[derive(Clone)]
pub struct Planned {
    ctx: Context,
    req: Request,
    plan: plan::Plan,
}

/// Plans `req`: no request, no prompt.
pub fn plan(ctx: &Context, req: Request) -> Result<Planned, Error> {
    let plan = plan::plan(&req, ctx)?;
    Ok(Planned {
        ctx: ctx.clone(),
        req,
        plan,
    })
}

impl Planned {
    pub fn request(&self) -> &Request {
        &self.req
    }

    /// The credentials, from the cache, or from the source and STS (with MFA where asked).
    pub fn obtain(&self) -> Result<Session, Error> {
        obtain::obtain(&self.ctx, &self.req, &self.plan)
    }

    /// How the credentials are got, as far as the console cares.
    pub fn origin(&self) -> Result<Origin, Error> {
        Ok(self.plan.origin(self.ctx.profiles()?, self.ctx.env()))
    }

    /// The profiles the credentials are made from (the chain and its source).
    pub fn source_profiles(&self) -> Vec<String> {
        self.plan.source_profiles(self.ctx.env())
    }

    /// A region that was given or configured.
    pub fn region(&self) -> Option<&str> {
        self.plan.region.as_deref()
    }

    /// The profile whose settings (endpoint_url, ca_bundle) apply to the requests.
    pub fn config_profile(&self) -> Option<&str> {
        self.plan.config_profile.as_deref()
    }

    /// When the cached credentials of the last role expire, read without any request; None
    /// when none are cached (or no role is assumed).
    pub fn cached_until(&self, cache: &Cache) -> Option<i64> {
        let key = Key::Role(self.plan.cache_keys().pop()?);
        if !cache.contains(&key) {
            return None;
        }
        cache.get(&key)?.expires
    }

    /// Removes from `cache` what this plan's credentials are cached as: each role's entry,
    /// its source's credential_process output, and the MFA sessions of its source profile's
    /// keys. How many were removed.
    pub fn forget(&self, cache: &Cache) -> usize {
        let mut n = self
            .plan
            .cache_keys()
            .into_iter()
            .filter(|k| cache.remove(&Key::Role(k.clone())))
            .count();
        if let Ok(profiles) = self.ctx.profiles() {
            if let Some((profile, command)) =
                source::process_of(&self.plan.source, profiles, self.ctx.env())
            {
                let key = Key::Process {
                    profile: profile.to_string(),
                    command: command.to_string(),
                };
                n += usize::from(cache.remove(&key));
            }
        }
        if let chain::Source::Profile(p) | chain::Source::StaticKeys(p) = &self.plan.source {
            let serials: Vec<&str> = self
                .plan
                .hops
                .iter()
                .filter_map(|h| h.call.options.mfa_serial.as_deref())
                .chain(self.plan.source_mfa.as_ref().map(|m| m.serial.as_str()))
                .collect();
            for e in cache.entries() {
                let mine = matches!(&e.what, What::Mfa { source, serial }
                    if source == p && serials.contains(&serial.as_str()));
                if mine && cache.remove_entry(&e) {
                    n += 1;
                }
            }
        }
        n
    }
}

/// Credentials from the standard chain, as the AWS CLI finds them without `--profile`
/// (signing in to IAM Identity Center first when a person is there to do it).
pub fn default_credentials(ctx: &Context, net: &Net, region: &str) -> Result<Credentials, Error> {
    let cache = obtain::open_cache(ctx, CacheMode::Use);
    net::runtime()?.block_on(source::credentials(
        &chain::Source::DefaultChain,
        ctx,
        net,
        &Region::new(region.to_string()),
        true,
        cache.as_ref(),
    ))
}

/// How messages name the default chain.
pub fn default_chain_label() -> String {
    chain::Source::DefaultChain.label()
}

/// The network of a run for a request of `req`'s kind, with the CA bundle of the profile
/// whose settings apply.
pub fn net_for(planned: &Planned) -> Result<Net, Error> {
    planned
        .ctx
        .net(planned.req.timeout, planned.plan.config_profile.as_deref())
}

pub use crate::session::Held;
