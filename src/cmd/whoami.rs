//! `stsenv whoami`: GetCallerIdentity with the current credentials (or a profile's, assumed
//! as `stsenv assume` would), plus the stsenv session's name and time left.

use serde_json::json;

use crate::cli::WhoamiArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, default_timeout, Request, DEFAULT_REGION};
use crate::error::Error;
use crate::net;
use crate::session::Held;
use crate::sts::Sts;
use crate::time;
use crate::validate;

pub fn run(ctx: &Context, args: &WhoamiArgs) -> Result<Output, Error> {
    if let Some(url) = &args.endpoint_url {
        validate::endpoint_url(url)?;
    }
    let env = ctx.env();
    let held = Held::from_env(env);
    let (creds, profile, label, net) = match &args.profile {
        Some(p) => {
            // The endpoint asked about is also the one that assumes the profile.
            let mut req = Request::new(p)?;
            req.endpoint_url = args.endpoint_url.clone();
            let planned = engine::plan(ctx, req)?;
            let session = planned.obtain()?;
            let net = engine::net_for(&planned)?;
            (
                session.credentials,
                Some(p.clone()),
                format!("of profile '{p}'"),
                net,
            )
        }
        None => {
            let net = ctx.net(default_timeout(), None)?;
            let creds = engine::default_credentials(ctx, &net, &region(ctx, None)?)?;
            // The variables of an stsenv session describe these credentials only if they are
            // the ones in the environment.
            let ours = held
                .credentials
                .as_ref()
                .is_some_and(|c| c.access_key_id == creds.access_key_id);
            let profile = held.profile.clone().filter(|_| ours);
            (creds, profile, engine::default_chain_label(), net)
        }
    };
    let region = region(ctx, args.profile.as_deref())?;
    let (account, arn, user_id) = net::runtime()?.block_on(async {
        let sts = Sts::new(
            &net,
            &region,
            args.endpoint_url.as_deref(),
            args.profile.as_deref(),
        )
        .await;
        sts.caller_identity(&creds, &label).await
    })?;
    let expires = creds.expires.or_else(|| {
        profile.as_ref()?;
        env.get("STSENV_EXPIRES")?.parse().ok()
    });
    let left = expires.map(|e| e - time::now());
    if args.json {
        let doc = json!({
            "Account": account,
            "Arn": arn,
            "UserId": user_id,
            "Profile": profile,
            "Expiration": expires.map(time::rfc3339),
            "SecondsLeft": left,
        });
        return Ok(Output::Text(format!("{doc}\n")));
    }
    // What STS says is shown as any message is: no escape sequence reaches the terminal.
    let clean = crate::error::escape_controls;
    let mut out = format!(
        "Account  {}\nArn      {}\nUserId   {}\n",
        clean(&account),
        clean(&arn),
        clean(&user_id)
    );
    if let Some(p) = profile.as_deref().map(clean) {
        let when = match left {
            Some(l) if l <= 0 => ", expired".to_string(),
            Some(l) if l < 3600 => format!(", {}m left", l / 60),
            Some(l) => format!(", {}h{:02}m left", l / 3600, l % 3600 / 60),
            None => String::new(),
        };
        out.push_str(&format!("Profile  {p} (stsenv{when})\n"));
    }
    Ok(Output::Text(out))
}

/// The region STS is asked in: the profile's (or AWS_PROFILE's) as the AWS CLI picks it.
fn region(ctx: &Context, profile: Option<&str>) -> Result<String, Error> {
    let profile = profile
        .map(String::from)
        .or_else(|| ctx.env().var("AWS_PROFILE"));
    Ok(
        engine::region(None, ctx.profiles()?, profile.as_deref(), ctx.env())
            .unwrap_or_else(|| DEFAULT_REGION.to_string()),
    )
}
