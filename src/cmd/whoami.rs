//! `stsenv whoami`: GetCallerIdentity with the current credentials (or a profile's, assumed
//! as `stsenv assume` would), plus the stsenv session's name and time left.

use aws_sdk_sts::config::Region;
use serde_json::json;

use crate::aws_files::load_profiles;
use crate::cli::WhoamiArgs;
use crate::cmd::Output;
use crate::engine::chain::Source;
use crate::engine::plan::{self, DEFAULT_REGION};
use crate::engine::request::DEFAULT_TIMEOUT;
use crate::engine::{self, source, Request};
use crate::error::Error;
use crate::net::{self, Net};
use crate::sts::Sts;
use crate::time;
use crate::validate;

pub fn run(args: &WhoamiArgs) -> Result<Output, Error> {
    if let Some(url) = &args.endpoint_url {
        validate::endpoint_url(url)?;
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let profiles = load_profiles()?;
    let active = args
        .profile
        .clone()
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let ca_bundle = profiles
        .get_profile(&active)
        .and_then(|p| p.get("ca_bundle"));
    let net = Net::new(DEFAULT_TIMEOUT, ca_bundle)?;
    let rt = net::runtime()?;
    let (creds, profile, label) = match &args.profile {
        Some(p) => {
            // The endpoint asked about is also the one that assumes the profile.
            let mut req = Request::new(p)?;
            req.endpoint_url = args.endpoint_url.clone();
            let session = engine::obtain(&req)?;
            (
                session.credentials,
                Some(p.clone()),
                format!("of profile '{p}'"),
            )
        }
        None => {
            let region = Region::new(region(&env, &profiles, None));
            let creds = rt.block_on(source::credentials(
                &Source::DefaultChain,
                &profiles,
                &net,
                &region,
                true,
            ))?;
            // The variables of an stsenv session describe these credentials only if they are
            // the ones in the environment.
            let ours = env("AWS_ACCESS_KEY_ID").as_deref() == Some(creds.access_key_id.as_str());
            let profile = env("STSENV_PROFILE").filter(|_| ours);
            (creds, profile, Source::DefaultChain.label())
        }
    };
    let region = region(&env, &profiles, args.profile.as_deref());
    let (account, arn, user_id) = rt.block_on(async {
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
        env("STSENV_EXPIRES")?.parse().ok()
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
fn region(
    env: &dyn Fn(&str) -> Option<String>,
    profiles: &aws_config::profile::ProfileSet,
    profile: Option<&str>,
) -> String {
    let profile = profile.map(String::from).or_else(|| env("AWS_PROFILE"));
    plan::region(None, profiles, profile.as_deref(), env)
        .unwrap_or_else(|| DEFAULT_REGION.to_string())
}
