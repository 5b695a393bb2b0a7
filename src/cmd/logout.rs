//! `stsenv logout [PROFILE] [--sso-session NAME]`: removes cached IAM Identity Center tokens
//! (all of them without a name, as `aws sso logout` does) and ends their portal sessions.

use crate::cli::LogoutArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, default_timeout};
use crate::error::{say, warn, Error};
use crate::net;
use crate::sso::{cache, portal};

pub fn run(ctx: &Context, args: &LogoutArgs) -> Result<Output, Error> {
    let tokens = engine::token_cache(ctx)?;
    let mut profile = None;
    let targets: Vec<(std::path::PathBuf, cache::Token, String)> =
        if args.profile.is_some() || args.sso_session.is_some() {
            let (cfg, named) =
                engine::sso_config(ctx, args.profile.as_deref(), args.sso_session.as_deref())?;
            profile = named;
            let label = cfg.label();
            match tokens.read_token(&cfg) {
                Some(token) => vec![(tokens.token_path(&cfg), token, label)],
                None => {
                    say(&format!("not signed in to {label}: nothing to do"));
                    return Ok(Output::Text(String::new()));
                }
            }
        } else {
            tokens
                .all_tokens()
                .into_iter()
                .map(|(path, token)| {
                    let label = token.start_url.clone().map_or_else(
                        || path.display().to_string(),
                        |u| format!("the SSO sign-in to {u}"),
                    );
                    (path, token, label)
                })
                .collect()
        };
    if targets.is_empty() {
        say("not signed in to any SSO session: nothing to do");
        return Ok(Output::Text(String::new()));
    }
    let net = ctx.net(default_timeout(), profile.as_deref())?;
    let rt = net::runtime()?;
    for (path, token, label) in &targets {
        if let Some(region) = &token.region {
            if let Err(why) = rt.block_on(portal::logout(&net, region, &token.access_token)) {
                warn(&format!("could not end the portal session of {label} ({why}); removing its token anyway"));
            }
        }
        std::fs::remove_file(path)
            .map_err(|e| Error::File(format!("cannot remove {}: {e}", path.display())))?;
        say(&format!("signed out of {label}"));
    }
    Ok(Output::Text(String::new()))
}
