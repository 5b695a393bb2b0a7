//! `stsenv whoami`: GetCallerIdentity with the current credentials (or a profile's), plus the
//! stsenv session's name and time left.

use std::time::Duration;

use aws_sdk_sts::config::Region;
use serde_json::json;

use crate::assume::{self, load_profiles};
use crate::cli::WhoamiArgs;
use crate::error::Error;
use crate::resolve::{self, validate, Request, Source, DEFAULT_REGION};
use crate::source;
use crate::sts::{self, Sts};
use crate::time;

const TIMEOUT: Duration = Duration::from_secs(15);

pub fn run(args: &WhoamiArgs) -> Result<String, Error> {
    if let Some(url) = &args.endpoint_url {
        validate::endpoint_url(url)?;
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let profiles = load_profiles()?;
    let rt = assume::runtime()?;
    let (creds, profile, label) = match &args.profile {
        Some(p) => {
            let session = assume::assume(&Request::for_target(p)?)?;
            (
                session.credentials,
                Some(p.clone()),
                format!("of profile '{p}'"),
            )
        }
        None => {
            let region = Region::new(region(&env, &profiles, None));
            let config = source::provider_config(&region, sts::http_client(), TIMEOUT);
            let creds = rt.block_on(source::credentials(
                &Source::DefaultChain,
                &profiles,
                &config,
                &region,
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
            &region,
            args.endpoint_url.as_deref(),
            args.profile.as_deref(),
            TIMEOUT,
            sts::http_client(),
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
        return Ok(format!("{doc}\n"));
    }
    let mut out = format!("Account  {account}\nArn      {arn}\nUserId   {user_id}\n");
    if let Some(p) = profile {
        let when = match left {
            Some(l) if l <= 0 => ", expired".to_string(),
            Some(l) if l < 3600 => format!(", {}m left", l / 60),
            Some(l) => format!(", {}h{:02}m left", l / 3600, l % 3600 / 60),
            None => String::new(),
        };
        out.push_str(&format!("Profile  {p} (stsenv{when})\n"));
    }
    Ok(out)
}

fn region(
    env: &dyn Fn(&str) -> Option<String>,
    profiles: &aws_config::profile::ProfileSet,
    profile: Option<&str>,
) -> String {
    let profile = profile.map(String::from).or_else(|| env("AWS_PROFILE"));
    resolve::region(None, profiles, profile.as_deref(), env)
        .unwrap_or_else(|| DEFAULT_REGION.to_string())
}
