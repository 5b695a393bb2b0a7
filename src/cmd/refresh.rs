//! `stsenv refresh`: assume again what this shell assumed last, with exactly the same
//! arguments (kept in STSENV_ARGS by `assume`), never signing with the session's own keys.
//! The hooks' auto-refresh runs it.

use clap::Parser;

use crate::cli::AssumeOnly;
use crate::cmd::Output;
use crate::engine::{self, CacheMode};
use crate::error::Error;
use crate::shell::{self, Shell};

/// The variables of the session being refreshed: never a source for its own refresh.
const SESSION_CREDENTIALS: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

pub fn run(shell: Shell) -> Result<Output, Error> {
    let profile = std::env::var("STSENV_PROFILE").unwrap_or_default();
    let Some(text) = std::env::var("STSENV_ARGS").ok().filter(|t| !t.is_empty()) else {
        return Err(Error::Usage(if profile.is_empty() {
            "nothing to refresh: this shell has no stsenv session; run `assume` first".into()
        } else {
            format!(
                "cannot refresh {profile} here: its source credentials were keys in the environment, which the session replaced; assume it again with them"
            )
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
    let mut req = super::request(&target, &opts.flags)?;
    let current = std::env::var("AWS_ACCESS_KEY_ID").ok();
    for name in SESSION_CREDENTIALS {
        // Nothing else runs yet: no thread can be reading the environment.
        std::env::remove_var(name);
    }
    let mut session = engine::obtain(&req)?;
    if current.as_deref() == Some(session.credentials.access_key_id.as_str()) {
        // The cache still held the very session being refreshed.
        req.cache = CacheMode::Refresh;
        session = engine::obtain(&req)?;
    }
    super::export(&req, session, shell)
}
