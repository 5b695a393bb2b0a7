//! One run's context: the environment taken once, the AWS config files loaded once, and the
//! one network (proxies, the CA bundle by the one rule) built once, when a request is first
//! made. Cheap to clone and shareable across threads (the credential server's). Knows
//! nothing of roles or of the command line.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::profile::ProfileSet;

use crate::aws_files;
use crate::env::Env;
use crate::error::Error;
use crate::net::{CaSource, Net, Variants};

#[derive(Clone)]
pub struct Context(Arc<Inner>);

/// What a network is built for: its timeout, CA bundle and endpoint variants.
type NetFor = (Duration, Option<PathBuf>, Variants);

struct Inner {
    env: Env,
    profiles: OnceLock<ProfileSet>,
    /// The network, and what it was built for.
    net: Mutex<Option<(NetFor, Net)>>,
    user: OnceLock<Option<String>>,
}

impl Context {
    pub fn new(env: Env) -> Context {
        Context(Arc::new(Inner {
            env,
            profiles: OnceLock::new(),
            net: Mutex::new(None),
            user: OnceLock::new(),
        }))
    }

    /// The context of this process, as it is now.
    pub fn process() -> Context {
        Context::new(Env::process())
    }

    pub fn env(&self) -> &Env {
        &self.0.env
    }

    /// Every profile of the config and credentials files, read on first use.
    pub fn profiles(&self) -> Result<&ProfileSet, Error> {
        if let Some(p) = self.0.profiles.get() {
            return Ok(p);
        }
        let loaded = aws_files::load_profiles(&self.0.env)?;
        Ok(self.0.profiles.get_or_init(|| loaded))
    }

    /// How messages name the config files.
    pub fn config_files(&self) -> String {
        aws_files::config_files(&self.0.env)
    }

    /// This user's name, for default session names (the password database is read at most
    /// once a run, however many profiles are planned).
    pub fn user(&self) -> Option<&str> {
        self.0.user.get_or_init(|| self.0.env.user()).as_deref()
    }

    /// The profile whose settings apply when none is named: AWS_PROFILE's, else default.
    pub fn selected_profile(&self) -> String {
        self.0
            .env
            .var("AWS_PROFILE")
            .unwrap_or_else(|| "default".into())
    }

    /// The extra CA certificates a request trusts, by the AWS CLI's one rule: AWS_CA_BUNDLE,
    /// else the `ca_bundle` of the profile whose settings apply (`profile`, else
    /// AWS_PROFILE's, else the default profile).
    pub fn ca_bundle(&self, profile: Option<&str>) -> Result<Option<(PathBuf, CaSource)>, Error> {
        let env = &self.0.env;
        if let Some(path) = env.get("AWS_CA_BUNDLE") {
            return Ok(Some((aws_files::expand_home(env, path), CaSource::Env)));
        }
        let name = profile
            .map(String::from)
            .unwrap_or_else(|| self.selected_profile());
        Ok(self
            .profiles()?
            .get_profile(&name)
            .and_then(|p| p.get("ca_bundle"))
            .filter(|v| !v.is_empty())
            .map(|p| (aws_files::expand_home(env, p), CaSource::Profile)))
    }

    /// FIPS and dual-stack, as aws-config resolves them for `profile` (else AWS_PROFILE's,
    /// else the default profile): AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT when set
    /// (a value other than true or false counts as false, and the profile is not read), else
    /// the profile's `use_fips_endpoint` / `use_dualstack_endpoint`.
    pub fn variants(&self, profile: Option<&str>) -> Result<Variants, Error> {
        let name = profile
            .map(String::from)
            .unwrap_or_else(|| self.selected_profile());
        let p = self.profiles()?.get_profile(&name);
        let setting = |var: &str, key: &str| {
            let value = match self.0.env.get(var) {
                Some(v) => Some(v),
                None => p.and_then(|p| p.get(key)),
            };
            value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        Ok(Variants {
            fips: setting("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            dual_stack: setting("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
        })
    }

    /// The network for requests that give up after `timeout`, with the CA bundle and the
    /// FIPS / dual-stack choice of `profile` (see `ca_bundle`, `variants`): built once a run,
    /// and again only if a later request asks for another timeout, bundle or choice.
    pub fn net(&self, timeout: Duration, profile: Option<&str>) -> Result<Net, Error> {
        let bundle = self.ca_bundle(profile)?;
        let variants = self.variants(profile)?;
        let wanted: NetFor = (timeout, bundle.as_ref().map(|(p, _)| p.clone()), variants);
        let mut held = self.0.net.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built, net)) = held.as_ref() {
            if *built == wanted {
                return Ok(net.clone());
            }
        }
        let net = Net::new(&self.0.env, timeout, bundle)?.with_variants(variants);
        *held = Some((wanted, net.clone()));
        Ok(net)
    }
}
