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

use std::time::Duration;

use crate::aws_files;
use crate::cache::{About, Cache, Key};
use crate::context::Context;
use crate::engine::chain::{CredentialSource, Source};
use crate::engine::signin;
use crate::env::Env;
use crate::error::{chain, Error};
use crate::helper;
use crate::net::Net;
use crate::session::Credentials;
use crate::verbose;

/// `login`: whether an SSO profile without a valid token may sign in on the terminal;
/// `cache`: where a credential_process's output is kept and reused.
pub async fn credentials(
    source: &Source,
    ctx: &Context,
    net: &Net,
    region: &Region,
    login: bool,
    cache: Option<&Cache>,
) -> Result<Credentials, Error> {
    let profiles = ctx.profiles()?;
    let env = ctx.env();
    if let Some((profile, command)) = process_of(source, profiles, env) {
        return process_credentials(profile, command, net.timeout(), cache);
    }
    if let Some(profile) = sso_of(source, profiles, env) {
        // Said before the token is looked at: a sign-in would not mend it.
        sso_role(profiles, profile)?;
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
pub fn process_of<'a>(
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

/// How long a second run waits for a first one that is running the same helper (perhaps
/// waiting for a touch or a password).
const PROCESS_LOCK_WAIT: Duration = Duration::from_secs(90);

/// What `credential_process` gives, from the cache while it has more than the refresh window
/// left, else from running it (once, however many runs ask at the same time), kept when it
/// says when it expires: a slow helper (Okta, 1Password, a touch) runs once per session, not
/// on every call as the AWS CLI runs it. Output without an Expiration is never kept. The
/// key is the profile and the exact command line.
pub fn process_credentials(
    profile: &str,
    command: &str,
    timeout: Duration,
    cache: Option<&Cache>,
) -> Result<Credentials, Error> {
    if let Some(item) = crate::keystore::own_export(command) {
        return from_keyring(profile, &item);
    }
    let key = Key::Process {
        profile: profile.to_string(),
        command: command.to_string(),
    };
    let cached = || cache?.get(&key);
    if let Some(creds) = cached() {
        verbose::say(|| format!("credential_process of profile '{profile}' from the cache"));
        return Ok(creds);
    }
    let _lock = cache.and_then(|c| {
        c.lock(
            &key,
            PROCESS_LOCK_WAIT,
            &format!("the credentials of profile '{profile}' (its credential_process)"),
        )
    });
    if let Some(creds) = cached() {
        return Ok(creds);
    }
    let creds = credential_process(profile, command, timeout)?;
    let keeps = creds
        .expires
        .is_some_and(|e| e - crate::time::now() > crate::cache::EXPIRY_WINDOW_SECS);
    if let (Some(c), true) = (cache, keeps) {
        let about = About {
            target: profile,
            assumed_arn: None,
        };
        match c.put(&key, &creds, &about) {
            Ok(true) => verbose::say(|| {
                format!(
                    "credential_process output cached in {}",
                    c.folder(&key).display()
                )
            }),
            Ok(false) => {}
            Err(e) => crate::error::warn_cache(&format!(
                "could not cache the output of profile '{profile}''s credential_process in {}: {e}",
                c.folder(&key).display()
            )),
        }
    }
    Ok(creds)
}

/// Long-term keys from the OS keyring, for a profile whose credential_process is stsenv's
/// own `keys export ITEM`: read in-process, as that command would print them, rather than
/// by starting stsenv again. Never cached: they must not land in a file.
fn from_keyring(profile: &str, item: &str) -> Result<Credentials, Error> {
    let failed = |detail: String| Error::SourceCredentials {
        source_label: format!("of profile '{profile}'"),
        detail,
    };
    verbose::say(|| format!("the keys of profile '{profile}' from the OS keyring ({item})"));
    match crate::keystore::load(item) {
        Ok(Some(keys)) => Ok(keys.credentials()),
        Ok(None) => Err(failed(format!(
            "the OS keyring has no keys for {item}; add them with `stsenv keys add {item}`"
        ))),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// The credentials a `credential_process` prints, in the format the AWS CLI documents.
fn credential_process(
    profile: &str,
    command: &str,
    timeout: Duration,
) -> Result<Credentials, Error> {
    let failed = |why: String| Error::SourceCredentials {
        source_label: format!("of profile '{profile}'"),
        detail: format!("its credential_process failed: {why}"),
    };
    let out = helper::run(command, timeout).map_err(|e| failed(e.to_string()))?;
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

/// An SSO profile gives credentials only with both `sso_account_id` and `sso_role_name`
/// (without them it can sign in, but gives a token only, as aws-config says).
fn sso_role(profiles: &ProfileSet, name: &str) -> Result<(), Error> {
    let Some(p) = profiles.get_profile(name) else {
        return Ok(());
    };
    let has = |k: &str| p.get(k).is_some_and(|v| !v.is_empty());
    let key = if has("sso_session") {
        "sso_session"
    } else if has("sso_start_url") {
        "sso_start_url"
    } else {
        return Ok(());
    };
    let (missing, them) = match (has("sso_account_id"), has("sso_role_name")) {
        (true, true) => return Ok(()),
        (false, false) => ("sso_account_id and sso_role_name are not", "both"),
        (false, true) => ("sso_account_id is not", "it"),
        (true, false) => ("sso_role_name is not", "it"),
    };
    Err(Error::ProfileValue {
        profile: name.to_string(),
        key,
        why: format!("is set but {missing}: add {them}, so that the profile gives the credentials of a role (without them it can sign in, but gives no credentials)"),
    })
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
