//! `stsenv refresh`: assume again what this shell assumed last, with exactly the same
//! arguments (kept in STSENV_ARGS by `assume`), never signing with the session's own keys.
//! The hooks' auto-refresh runs it.

use clap::Parser;

use crate::cli::AssumeOnly;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, CacheMode};
use crate::env::Env;
use crate::error::Error;
use crate::session::{Held, CREDENTIAL_VARS};
use crate::shell::{self, Dialect};

pub fn run(shell: Dialect) -> Result<Output, Error> {
    let held = Held::from_env(&Env::process());
    let Some(text) = held.args.clone() else {
        return Err(Error::Usage(match &held.profile {
            None => "nothing to refresh: this shell has no stsenv session; run `assume` first".into(),
            Some(profile) if profile.starts_with("root@") => format!(
                "{profile} is a root session, which is never refreshed: run `stsenv assume-root` again when you need one"
            ),
            Some(profile) => format!(
                "cannot refresh {profile} here: its source credentials were keys in the environment, which the session replaced; assume it again with them"
            ),
        }));
    };
    let words = shell::split_posix_words(&text).ok_or_else(|| {
        Error::Usage("STSENV_ARGS is not what `assume` wrote; run `assume` again".into())
    })?;
    let opts = AssumeOnly::try_parse_from(&words)
        .map_err(|e| {
            Error::Usage(format!(
                "STSENV_ARGS does not parse ({}); run `assume` again",
                crate::error::one_line(&e.to_string())
            ))
        })?
        .opts;
    let target = opts
        .target
        .clone()
        .ok_or_else(|| Error::Usage("STSENV_ARGS names no target; run `assume` again".into()))?;
    let req = super::request(&target, &opts.flags)?;
    for name in CREDENTIAL_VARS {
        // Nothing else runs yet: no thread can be reading the environment. aws-config reads
        // the process's environment itself, so they go from there, not only from the context.
        std::env::remove_var(name);
    }
    let ctx = Context::process();
    let current = held.credentials.map(|c| c.access_key_id);
    let planned = engine::plan(&ctx, req.clone())?;
    let mut session = planned.obtain()?;
    let mut req = req;
    if current.as_deref() == Some(session.credentials.access_key_id.as_str()) {
        // The cache still held the very session being refreshed.
        req.cache = CacheMode::Refresh;
        session = engine::plan(&ctx, req.clone())?.obtain()?;
    }
    super::export(&ctx, &req, session, shell)
}
