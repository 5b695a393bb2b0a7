//! `stsenv login [PROFILE] [--sso-session NAME] [--no-browser]`: signs in to IAM Identity
//! Center with the device flow and keeps the token where the AWS CLI v2 keeps it.

use crate::aws_files::load_profiles;
use crate::cli::LoginArgs;
use crate::cmd::Output;
use crate::engine::request::DEFAULT_TIMEOUT;
use crate::engine::signin::sso_config;
use crate::error::Error;
use crate::net::{self, Net};
use crate::sso::prompt::TerminalUi;
use crate::sso::{cache, device};
use crate::time;

pub fn run(args: &LoginArgs) -> Result<Output, Error> {
    let profiles = load_profiles()?;
    let (cfg, profile) = sso_config(
        &profiles,
        args.profile.as_deref(),
        args.sso_session.as_deref(),
    )?;
    let ca_bundle = profile
        .as_deref()
        .and_then(|p| profiles.get_profile(p))
        .and_then(|p| p.get("ca_bundle"));
    let net = Net::new(DEFAULT_TIMEOUT, ca_bundle)?;
    let ui = TerminalUi::new(!args.no_browser);
    ui.say(&format!(
        "signing in to {} ({})",
        cfg.label(),
        cfg.start_url
    ));
    let token = net::runtime()?.block_on(device::login(&cfg, &net, &ui))?;
    let path = cache::write_token(&cfg, &token).map_err(|e| {
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
