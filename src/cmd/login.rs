//! `stsenv login [PROFILE] [--sso-session NAME] [--no-browser] [--use-device-code] [--force]
//! [--wait DURATION]`: renews the cached IAM Identity Center token with its refresh token, or
//! signs in anew (through the browser, or with a device code), and keeps the token where the
//! AWS CLI v2 keeps it.

use crate::cli::LoginArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, default_timeout, LoggedIn, SignIn};
use crate::error::Error;
use crate::net;
use crate::time;
use crate::validate;

pub fn run(ctx: &Context, args: &LoginArgs) -> Result<Output, Error> {
    let wait = match &args.wait {
        Some(w) => validate::parse_duration("wait", w).and_then(|secs| match secs {
            0 => Err(Error::bad("wait", w, "must be at least 1 second")),
            s => Ok(std::time::Duration::from_secs(s)),
        })?,
        None => SignIn::default().wait,
    };
    let (cfg, profile) =
        engine::sso_config(ctx, args.profile.as_deref(), args.sso_session.as_deref())?;
    let net = ctx.net(default_timeout(), profile.as_deref())?;
    let how = SignIn {
        use_device_code: args.use_device_code,
        open_browser: !args.no_browser,
        wait,
    };
    let (token, got) =
        net::runtime()?.block_on(engine::sso_login(ctx, &cfg, &net, &how, args.force))?;
    let tokens = engine::token_cache(ctx)?;
    let path = tokens.write_token(&cfg, &token).map_err(|e| {
        Error::Sso(format!(
            "signed in, but could not keep the token in ~/.aws/sso/cache: {e}"
        ))
    })?;
    let done = match got {
        LoggedIn::Refreshed => format!(
            "renewed the token of {} with its refresh token, no sign-in needed (--force signs in anew)",
            cfg.label()
        ),
        LoggedIn::SignedIn => format!("signed in to {}", cfg.label()),
    };
    crate::error::say(&format!(
        "{done}; the token is valid until {} ({})",
        time::rfc3339(token.expires_at),
        path.display()
    ));
    Ok(Output::Text(String::new()))
}
