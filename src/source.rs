//! The first credentials of a chain, from aws-config: the standard chain, a profile without
//! role_arn (static keys, SSO, credential_process, web identity) or a credential_source.
//! stsenv never re-implements any of these.

use std::time::UNIX_EPOCH;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileSet};
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::config::Region;

use crate::error::{chain, Error};
use crate::resolve::{CredentialSource, Source};
use crate::session::Credentials;

/// What aws-config's providers need to reach SSO, IMDS or ECS: region, client, timeouts.
pub fn provider_config(
    region: &Region,
    http: aws_sdk_sts::config::SharedHttpClient,
    timeout: std::time::Duration,
) -> ProviderConfig {
    ProviderConfig::without_region()
        .with_region(Some(region.clone()))
        .with_http_client(http)
        .with_timeout_config(crate::sts::timeouts(timeout))
        .with_behavior_version(Some(aws_config::BehaviorVersion::latest()))
}

/// `config` must carry `region` too; the default chain takes it separately.
pub async fn credentials(
    source: &Source,
    profiles: &ProfileSet,
    config: &ProviderConfig,
    region: &Region,
) -> Result<Credentials, Error> {
    let got = match source {
        Source::DefaultChain => {
            // The environment comes first in the chain; asking it alone first spares the
            // common case building the rest (whose HTTP clients load the trust store).
            match EnvironmentVariableCredentialsProvider::new()
                .provide_credentials()
                .await
            {
                Ok(c) => Ok(c),
                Err(_) => {
                    // With its region given, the chain doesn't ask instance metadata for one.
                    DefaultCredentialsChain::builder()
                        .configure(config.clone())
                        .region(region.clone())
                        .build()
                        .await
                        .provide_credentials()
                        .await
                }
            }
        }
        Source::Profile(name) => {
            if !has_credentials(profiles, name) {
                return Err(Error::SourceCredentials {
                    source_label: source.label(),
                    detail: "it has no aws_access_key_id, sso_session, credential_process or web_identity_token_file; add credentials with `aws configure --profile NAME`".replace("NAME", name),
                });
            }
            ProfileFileCredentialsProvider::builder()
                .configure(config)
                .profile_name(name)
                .build()
                .provide_credentials()
                .await
        }
        Source::StaticKeys(name) => return static_keys(source, profiles, name),
        Source::Provider { kind, .. } => match kind {
            CredentialSource::Environment => {
                EnvironmentVariableCredentialsProvider::new()
                    .provide_credentials()
                    .await
            }
            CredentialSource::Ec2InstanceMetadata => {
                ImdsCredentialsProvider::builder()
                    .configure(config)
                    .build()
                    .provide_credentials()
                    .await
            }
            CredentialSource::EcsContainer => {
                EcsCredentialsProvider::builder()
                    .configure(config)
                    .build()
                    .provide_credentials()
                    .await
            }
        },
    };
    match got {
        Ok(c) => Ok(from_sdk(&c)),
        Err(CredentialsError::CredentialsNotLoaded(_)) if *source == Source::DefaultChain => {
            Err(Error::NoCredentials)
        }
        Err(e) => Err(Error::SourceCredentials {
            source_label: source.label(),
            detail: chain(&e),
        }),
    }
}

/// Whether aws-config has anything to work with in this profile; its own error for an empty
/// profile ("the credential provider was not enabled") tells the user nothing.
fn has_credentials(profiles: &ProfileSet, name: &str) -> bool {
    profiles
        .get_profile(name)
        .is_some_and(|p| crate::profiles::kind(p) != "settings")
}

fn static_keys(source: &Source, profiles: &ProfileSet, name: &str) -> Result<Credentials, Error> {
    let profile = profiles.get_profile(name);
    let get = |k: &str| profile.and_then(|p| p.get(k)).map(String::from);
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: get("aws_session_token"),
            expires: None,
        }),
        _ => Err(Error::SourceCredentials {
            source_label: source.label(),
            detail: "aws_access_key_id or aws_secret_access_key is missing".into(),
        }),
    }
}

pub fn from_sdk(c: &aws_credential_types::Credentials) -> Credentials {
    Credentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: c.session_token().map(String::from),
        expires: c.expiry().map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        }),
    }
}

pub fn to_sdk(c: &Credentials) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        &c.access_key_id,
        &c.secret_access_key,
        c.session_token.clone(),
        c.expires
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| UNIX_EPOCH + std::time::Duration::from_secs(s)),
        "stsenv",
    )
}
