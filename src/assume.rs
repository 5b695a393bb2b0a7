//! `stsenv assume`: validate, resolve, call STS hop by hop, and render for the shell.

use aws_config::profile::ProfileSet;
use aws_config::provider_config::ProviderConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sts::config::Region;
use aws_types::os_shim_internal::{Env, Fs};

use crate::cli::AssumeArgs;
use crate::error::{one_line, Error};
use crate::resolve::{self, Request, DEFAULT_REGION};
use crate::session::Session;
use crate::shell::Shell;
use crate::source;
use crate::sts::{self, Sts};

/// Returns the text for stdout.
pub fn run(args: &AssumeArgs, shell: Shell) -> Result<String, Error> {
    let req = Request::from_args(args)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let session = rt.block_on(assume(req))?;
    shell.render_session(&session)
}

async fn assume(req: Request) -> Result<Session, Error> {
    let profiles = load_profiles().await?;
    let plan = resolve::plan(&req, &profiles, &config_files(), &|k| std::env::var(k).ok())?;
    let region = plan.region.as_deref().unwrap_or(DEFAULT_REGION);
    let http = sts::http_client();
    let provider_config = ProviderConfig::without_region()
        .with_region(Some(Region::new(region.to_string())))
        .with_http_client(http.clone())
        .with_timeout_config(sts::timeouts(req.timeout))
        .with_behavior_version(Some(BehaviorVersion::latest()));
    let mut creds = source::credentials(&plan.source, &profiles, &provider_config).await?;
    let sts = Sts::new(
        region,
        req.endpoint_url.as_deref(),
        plan.config_profile.as_deref(),
        req.timeout,
        http,
    )
    .await;
    let mut label = plan.source.label();
    for hop in &plan.hops {
        creds = sts.assume_role(&creds, hop, &label).await?;
        label = format!("of role {}", hop.role_arn);
    }
    Ok(Session {
        credentials: creds,
        role_arn: plan.hops.last().map(|h| h.role_arn.clone()),
        region: plan.region.clone(),
        target: req.target_text,
    })
}

pub async fn load_profiles() -> Result<ProfileSet, Error> {
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .map_err(|e| Error::Config(one_line(&e.to_string())))
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
        path("AWS_CONFIG_FILE", "~/.aws/config"),
        path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    )
}
