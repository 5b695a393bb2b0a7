//! `stsenv logout [PROFILE] [--sso-session NAME]`: removes cached IAM Identity Center tokens
//! (all of them without a name, as `aws sso logout` does) and ends their portal sessions.

use crate::aws_files::load_profiles;
use crate::cli::LogoutArgs;
use crate::cmd::Output;
use crate::engine::request::DEFAULT_TIMEOUT;
use crate::engine::signin::sso_config;
use crate::error::{say, warn, Error};
use crate::net::{self, Net};
use crate::sso::{cache, portal};

pub fn run(args: &LogoutArgs) -> Result<Output, Error> {
    let profiles = load_profiles()?;
    let targets: Vec<(std::path::PathBuf, cache::Token, String)> =
        if args.profile.is_some() || args.sso_session.is_some() {
            let (cfg, _) = sso_config(
                &profiles,
                args.profile.as_deref(),
                args.sso_session.as_deref(),
            )?;
            let label = cfg.label();
            match (cache::token_path(&cfg), cache::read_token(&cfg)) {
                (Some(path), Some(token)) => vec![(path, token, label)],
                _ => {
                    say(&format!("not signed in to {label}: nothing to do"));
                    return Ok(Output::Text(String::new()));
                }
            }
        } else {
            cache::all_tokens()
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
    let net = Net::new(DEFAULT_TIMEOUT, None)?;
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
