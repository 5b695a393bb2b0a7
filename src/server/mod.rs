//! `stsenv exec --server`: the command's parent, serving it refreshing credentials as the SDKs'
//! container credential endpoint on 127.0.0.1. Knows nothing of the command line or of output.

mod child;
mod holder;
mod http;

use std::sync::Arc;

use crate::aws_files;
use crate::context::Context;
use crate::engine::Planned;
use crate::error::{warn, Error};
use crate::session::EnvChange;
use crate::verbose;

use holder::Holder;

/// Where the credentials are served; any other path is a 404.
pub const PATH: &str = "/stsenv/credentials";

/// What the command must not inherit: each would win over the endpoint in the SDKs' chains
/// (keys, profiles, web identity, ECS's relative URI and token file), or describe a session
/// that is not the command's (a fixed expiry, the `stsenv refresh` arguments).
pub const REMOVED: [&str; 15] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CREDENTIAL_FILE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "STSENV_EXPIRES",
    "STSENV_ARGS",
];

/// Gets the credentials (prompting for MFA if need be), serves them, runs `argv` and returns
/// its exit status (128+N when signal N killed it).
pub fn run(ctx: &Context, planned: Planned, argv: &[String]) -> Result<i32, Error> {
    let session = planned.obtain()?;
    if session.credentials.session_token.is_none() {
        return Err(Error::ServerNeedsSession(
            planned.request().target_text.clone(),
        ));
    }
    warn_if_default_profile_wins(ctx);
    let token = token()?;
    let holder = Arc::new(Holder::new(
        ctx,
        planned.request().clone(),
        session.clone(),
    )?);
    let server = http::Server::start(holder, token.clone()).map_err(Error::ServerStart)?;
    let url = format!("http://{}{PATH}", server.addr());
    verbose::say(|| format!("serving credentials at {url}"));
    let mut env: EnvChange = REMOVED.iter().map(|n| (*n, None)).collect();
    env.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI", Some(url)));
    env.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN", Some(token)));
    if let Some(region) = &session.region {
        env.push(("AWS_REGION", Some(region.clone())));
        env.push(("AWS_DEFAULT_REGION", Some(region.clone())));
    }
    env.push(("STSENV_PROFILE", Some(session.target.clone())));
    env.push(("STSENV_ROLE_ARN", session.role_arn.clone()));
    let status = child::run(argv, &env);
    // The port closes now, not when the last connection thread is done.
    server.stop();
    status
}

/// The AWS CLI and SDKs read the default profile's credentials before they ask the endpoint,
/// and no variable turns that off: say so rather than let the command quietly run as
/// someone else.
fn warn_if_default_profile_wins(ctx: &Context) {
    let Ok(profiles) = ctx.profiles() else {
        return;
    };
    if let Some(p) = profiles.get_profile("default") {
        if aws_files::kind(p) != "settings" {
            warn("the default profile has credentials of its own, which the AWS CLI and SDKs in the command use before stsenv's server; move them to a named profile");
        }
    }
}

/// 256 bits from the operating system, as hex: a header value every SDK sends unchanged.
fn token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
