//! The first credentials of a chain, from aws-config: the standard chain, a profile without
//! role_arn (static keys, SSO, web identity) or a credential_source. The one exception is
//! `credential_process`, which stsenv runs itself: aws-config's runner can neither time out
//! nor stop the process.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileSet};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::config::Region;

use crate::aws_files;
use crate::context::Context;
use crate::engine::chain::{CredentialSource, Source};
use crate::engine::signin;
use crate::env::Env;
use crate::error::{chain, Error};
use crate::helper;
use crate::net::Net;
use crate::session::Credentials;

/// `login`: whether an SSO profile without a valid token may sign in on the terminal.
pub async fn credentials(
    source: &Source,
    ctx: &Context,
    net: &Net,
    region: &Region,
    login: bool,
) -> Result<Credentials, Error> {
    let profiles = ctx.profiles()?;
    let env = ctx.env();
    if let Some((profile, command)) = process_of(source, profiles, env) {
        return credential_process(profile, command, net);
    }
    if let Some(profile) = sso_of(source, profiles, env) {
        signin::ensure_token(ctx, profile, net, login).await?;
    }
    let timed_out = || Error::SourceCredentials {
        source_label: source.label(),
        detail: format!(
            "no answer within {} s; check your network, or raise --timeout",
            net.timeout().as_secs()
        ),
    };
    tokio::time::timeout(
        net.timeout(),
        from_aws_config(source, profiles, env, net, region),
    )
    .await
    .map_err(|_| timed_out())?
}

async fn from_aws_config(
    source: &Source,
    profiles: &ProfileSet,
    env: &Env,
    net: &Net,
    region: &Region,
) -> Result<Credentials, Error> {
    let config = &net.provider_config(region);
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
            check_profile(profiles, name)?;
            ProfileFileCredentialsProvider::builder()
                .configure(config)
                .profile_name(name)
                .build()
                .provide_credentials()
                .await
        }
        Source::StaticKeys(name) => return static_keys(profiles, name),
        // The engine asks STS for these itself, at the endpoint the user chose.
        Source::WebIdentity { .. } => {
            return Err(Error::Usage(
                "a web identity profile is not resolved here".into(),
            ))
        }
        Source::Provider { kind, profile } => match kind {
            CredentialSource::Environment => {
                let set = |k: &str| env.get(k).is_some();
                if !set("AWS_ACCESS_KEY_ID") || !set("AWS_SECRET_ACCESS_KEY") {
                    return Err(Error::ProfileValue {
                        profile: profile.clone(),
                        key: "credential_source",
                        why: "is Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set: export them, or use source_profile".into(),
                    });
                }
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
        // An instance-metadata failure is the last link of a chain that found nothing else.
        Err(_) if *source == Source::DefaultChain && nothing_configured(profiles, env) => {
            Err(Error::NoCredentials)
        }
        Err(e) => Err(Error::SourceCredentials {
            source_label: source.label(),
            detail: chain(&e),
        }),
    }
}

/// The profile `source` comes down to, when it is aws-config's to read (as the default
/// chain reads AWS_PROFILE's, or the default, profile after the environment's keys).
fn profile_of<'a>(source: &'a Source, profiles: &'a ProfileSet, env: &Env) -> Option<&'a str> {
    match source {
        Source::Profile(name) => Some(name.as_str()),
        // The default chain reads AWS_PROFILE's (or the default) profile after the
        // environment's keys.
        Source::DefaultChain if env.get("AWS_ACCESS_KEY_ID").is_none() => profiles
            .get_profile(env.get("AWS_PROFILE").unwrap_or("default"))
            .map(|p| p.name()),
        _ => None,
    }
}

/// The SSO profile `source` comes down to.
fn sso_of<'a>(source: &'a Source, profiles: &'a ProfileSet, env: &Env) -> Option<&'a str> {
    let name = profile_of(source, profiles, env)?;
    (aws_files::kind(profiles.get_profile(name)?) == "sso").then_some(name)
}

/// The profile and command when `source` comes down to a profile's `credential_process`.
fn process_of<'a>(
    source: &'a Source,
    profiles: &'a ProfileSet,
    env: &Env,
) -> Option<(&'a str, &'a str)> {
    let name = profile_of(source, profiles, env)?;
    let profile = profiles.get_profile(name)?;
    (aws_files::kind(profile) == "process")
        .then(|| Some((name, profile.get("credential_process")?)))
        .flatten()
}

/// The credentials a `credential_process` prints, in the format the AWS CLI documents.
fn credential_process(profile: &str, command: &str, net: &Net) -> Result<Credentials, Error> {
    let failed = |why: String| Error::SourceCredentials {
        source_label: format!("of profile '{profile}'"),
        detail: format!("its credential_process failed: {why}"),
    };
    let out = helper::run(command, net.timeout()).map_err(|e| failed(e.to_string()))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&out).map_err(|_| failed("it did not print JSON".into()))?;
    if doc["Version"] != 1 {
        return Err(failed("its JSON does not have \"Version\": 1".into()));
    }
    let field = |k: &str| doc[k].as_str().filter(|v| !v.is_empty()).map(String::from);
    let (Some(access_key_id), Some(secret_access_key)) =
        (field("AccessKeyId"), field("SecretAccessKey"))
    else {
        return Err(failed(
            "its JSON lacks AccessKeyId or SecretAccessKey".into(),
        ));
    };
    let expires = match field("Expiration") {
        Some(t) => Some(
            crate::time::parse(&t)
                .ok_or_else(|| failed("its Expiration is not an RFC 3339 time".into()))?,
        ),
        None => None,
    };
    Ok(Credentials {
        access_key_id,
        secret_access_key,
        session_token: field("SessionToken"),
        expires,
    })
}

/// Whether the default chain has anything to go on besides instance metadata: keys or a
/// profile in the environment, a default profile with credentials, web identity or a
/// container endpoint.
fn nothing_configured(profiles: &ProfileSet, env: &Env) -> bool {
    let set = |k: &str| env.get(k).is_some();
    let vars = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    !vars.iter().any(|v| set(v))
        && profiles
            .get_profile("default")
            .is_none_or(|p| aws_files::kind(p) == "settings")
}

/// What aws-config would say in SDK words about a profile it can't use, said plainly first.
fn check_profile(profiles: &ProfileSet, name: &str) -> Result<(), Error> {
    let Some(p) = profiles.get_profile(name) else {
        return Ok(());
    };
    if aws_files::kind(p) == "settings" {
        return Err(Error::SourceCredentials {
            source_label: format!("of profile '{name}'"),
            detail: format!("it has no credentials (aws_access_key_id, sso_session, credential_process, login_session or web_identity_token_file); add some with `aws configure --profile {name}`"),
        });
    }
    if aws_files::kind(p) == "static" {
        partial_keys(profiles, name)?;
    }
    Ok(())
}

/// A profile with one of the two keys but not the other.
fn partial_keys(profiles: &ProfileSet, name: &str) -> Result<(), Error> {
    let p = profiles.get_profile(name);
    let has = |k: &str| p.and_then(|p| p.get(k)).is_some_and(|v| !v.is_empty());
    let missing = |have: &'static str, lack: &'static str| Error::ProfileValue {
        profile: name.to_string(),
        key: have,
        why: format!("is set but {lack} is not: add it (`aws configure --profile {name}`)"),
    };
    match (has("aws_access_key_id"), has("aws_secret_access_key")) {
        (true, false) => Err(missing("aws_access_key_id", "aws_secret_access_key")),
        (false, true) => Err(missing("aws_secret_access_key", "aws_access_key_id")),
        _ => Ok(()),
    }
}

fn static_keys(profiles: &ProfileSet, name: &str) -> Result<Credentials, Error> {
    partial_keys(profiles, name)?;
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
            source_label: format!("of profile '{name}'"),
            detail: "aws_access_key_id or aws_secret_access_key is missing".into(),
        }),
    }
}
