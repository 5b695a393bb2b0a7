//! The AWS config and credentials files: where they are, loading them with aws-config's
//! parser, and what kind of profile each section is. Knows nothing of roles being assumed.

use std::future::Future;
use std::path::{Path, PathBuf};

use aws_config::profile::{Profile, ProfileSet};
use aws_types::os_shim_internal::{Env, Fs};

use crate::error::{chain, Error};

pub const CONFIG_VAR: &str = "AWS_CONFIG_FILE";
pub const CREDENTIALS_VAR: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// Every profile of both files, as the AWS CLI and SDKs see them.
pub fn load_profiles() -> Result<ProfileSet, Error> {
    // aws-config passes over a config file it can't read as if it were missing; a user
    // whose profiles vanish because of a permission deserves to be told.
    for (var, default) in [
        (CONFIG_VAR, ".aws/config"),
        (CREDENTIALS_VAR, ".aws/credentials"),
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

/// The path aws-config reads for `var`, with `~/` expanded as it does (its own helper is
/// private).
pub fn config_path(var: &str, default: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(p) => match (p.strip_prefix("~/"), home) {
            (Some(rest), Some(h)) => Some(h.join(rest)),
            _ => Some(p.into()),
        },
        None => Some(home?.join(default)),
    }
}

/// Where the AWS CLI reads credentials: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials.
pub fn credentials_path() -> Result<PathBuf, Error> {
    config_path(CREDENTIALS_VAR, ".aws/credentials").ok_or(Error::NoHome(CREDENTIALS_VAR))
}

fn check_readable(path: &Path) -> Result<(), Error> {
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
pub fn block_on<F: Future>(fut: F) -> F::Output {
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
        path(CONFIG_VAR, "~/.aws/config"),
        path(CREDENTIALS_VAR, "~/.aws/credentials")
    )
}

/// What a profile is, by the keys it holds: "role", "sso", "process", "web identity",
/// "static", or "settings" (no credentials of its own).
pub fn kind(p: &Profile) -> &'static str {
    let has = |k: &str| p.get(k).is_some();
    if has("role_arn") {
        "role"
    } else if has("sso_session") || has("sso_start_url") || has("sso_account_id") {
        "sso"
    } else if has("credential_process") {
        "process"
    } else if has("web_identity_token_file") {
        "web identity"
    } else if has("aws_access_key_id") {
        "static"
    } else {
        "settings"
    }
}
