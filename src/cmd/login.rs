//! `stsenv login [PROFILE] [--sso-session NAME] [--no-browser]`: signs in to IAM Identity
//! Center with the device flow and keeps the token where the AWS CLI v2 keeps it.

use crate::cli::LoginArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, default_timeout};
use crate::error::Error;
use crate::net;
use crate::sso::device;
use crate::sso::prompt::TerminalUi;
use crate::time;

pub fn run(ctx: &Context, args: &LoginArgs) -> Result<Output, Error> {
    let (cfg, profile) =
        engine::sso_config(ctx, args.profile.as_deref(), args.sso_session.as_deref())?;
    let net = ctx.net(default_timeout(), profile.as_deref())?;
    let tokens = engine::token_cache(ctx)?;
    let ui = TerminalUi::new(!args.no_browser);
    ui.say(&format!(
        "signing in to {} ({})",
        cfg.label(),
        cfg.start_url
    ));
    let token = net::runtime()?.block_on(device::login(&cfg, &net, &ui, &tokens))?;
    let path = tokens.write_token(&cfg, &token).map_err(|e| {
        Error::Sso(format!(
            "signed in, but could not keep the token in ~/.aws/sso/cache: {e}"
        ))
    })?;
    crate::error::say(&format!(
        "signed in to {}; the token is valid until {} ({})",
        cfg.label(),
        time::rfc3339(token.expires_at),
        path.display()
    ));
    Ok(Output::Text(String::new()))
}
