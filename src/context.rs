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
use crate::net::{CaSource, Net};

#[derive(Clone)]
pub struct Context(Arc<Inner>);

struct Inner {
    env: Env,
    profiles: OnceLock<ProfileSet>,
    /// The network, and the timeout and CA bundle it was built for.
    net: Mutex<Option<(Duration, Option<PathBuf>, Net)>>,
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

    /// The network for requests that give up after `timeout`, with the CA bundle of
    /// `profile` (see `ca_bundle`): built once a run, and again only if a later request asks
    /// for another timeout or bundle.
    pub fn net(&self, timeout: Duration, profile: Option<&str>) -> Result<Net, Error> {
        let bundle = self.ca_bundle(profile)?;
        let mut held = self.0.net.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, b, net)) = held.as_ref() {
            if *t == timeout && b.as_ref() == bundle.as_ref().map(|(p, _)| p) {
                return Ok(net.clone());
            }
        }
        let path = bundle.as_ref().map(|(p, _)| p.clone());
        let net = Net::new(&self.0.env, timeout, bundle)?;
        *held = Some((timeout, path, net.clone()));
        Ok(net)
    }
}
