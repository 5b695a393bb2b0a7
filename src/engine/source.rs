//! The first credentials of a chain, from aws-config: the standard chain, a profile without
//! role_arn (static keys, SSO, credential_process, web identity) or a credential_source.
//! stsenv never re-implements any of these.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileSet};
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::config::Region;

use crate::aws_files;
use crate::engine::chain::{CredentialSource, Source};
use crate::error::{chain, Error};
use crate::session::Credentials;

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
        Ok(c) => Ok(Credentials::from_sdk(&c)),
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
        .is_some_and(|p| aws_files::kind(p) != "settings")
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
