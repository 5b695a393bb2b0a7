//! What both sign-ins share with SSO-OIDC: the client (through stsenv's network, at the
//! endpoint aws-config resolves: region, FIPS, dual-stack, AWS_ENDPOINT_URL_SSO_OIDC),
//! refreshing a token with its refresh token, and failed calls said in words.

use aws_sdk_ssooidc::error::SdkError;

use super::cache::{Grant, Registration, Token, TokenCache};
use super::pkce::{DEFAULT_SCOPE, REGISTERED_REDIRECT_URI};
use super::SsoConfig;
use crate::error::{chain, Error};
use crate::net::Net;
use crate::time;

/// The configuration an SSO-OIDC client in `region` is built from (the authorization-code
/// flow also resolves the `/authorize` host from it).
pub async fn sdk_config(net: &Net, region: &str) -> aws_types::SdkConfig {
    net.sdk_loader(region).load().await
}

pub fn client(sdk: &aws_types::SdkConfig) -> aws_sdk_ssooidc::Client {
    aws_sdk_ssooidc::Client::new(sdk)
}

/// The name a registration goes by: `stsenv-client-<session>` (the AWS CLI's is
/// `botocore-client-<session>`; nothing keys on it).
pub fn client_name(cfg: &SsoConfig) -> String {
    match &cfg.session {
        Some(s) => format!("stsenv-client-{s}"),
        None => format!("stsenv-client-{}", time::now()),
    }
}

/// The scopes a registration for `grant` asks for: the configured ones; for the
/// authorization code, `sso:account:access` when none are (the device code then sends none).
/// The registration file's name still hashes the configured value, as the AWS CLI's does.
pub fn scopes(cfg: &SsoConfig, grant: Grant) -> Option<Vec<String>> {
    match (grant, &cfg.scopes) {
        (Grant::AuthorizationCode, None) => Some(vec![DEFAULT_SCOPE.to_string()]),
        (Grant::AuthorizationCode, Some(s)) if s.is_empty() => {
            Some(vec![DEFAULT_SCOPE.to_string()])
        }
        (_, configured) => configured.clone(),
    }
}

/// RegisterClient for `grant`'s flow, as the AWS CLI v2 makes it (`_register_client` of its
/// two token fetchers), and the registration kept for the next sign-in. For the
/// authorization code: grant types `authorization_code` and `refresh_token`, the loopback
/// redirect URI without a port, and the start URL as the issuer.
pub async fn register(
    client: &aws_sdk_ssooidc::Client,
    cfg: &SsoConfig,
    net: &Net,
    tokens: &TokenCache,
    grant: Grant,
) -> Result<Registration, Error> {
    let scopes = scopes(cfg, grant);
    let code = grant == Grant::AuthorizationCode;
    let out = client
        .register_client()
        .client_name(client_name(cfg))
        .client_type("public")
        .set_scopes(scopes.clone())
        .set_grant_types(grant.grant_types())
        .set_redirect_uris(code.then(|| vec![REGISTERED_REDIRECT_URI.to_string()]))
        .set_issuer_url(code.then(|| cfg.start_url.clone()))
        .send()
        .await
        .map_err(|e| failed(cfg, net, "RegisterClient", &e))?;
    let (Some(id), Some(secret)) = (out.client_id(), out.client_secret()) else {
        return Err(Error::Sso(format!(
            "IAM Identity Center answered RegisterClient for {} without a client; try again",
            cfg.start_url
        )));
    };
    let r = Registration {
        client_id: id.to_string(),
        client_secret: secret.to_string(),
        expires_at: out.client_secret_expires_at(),
        scopes,
        grant,
    };
    if let Err(e) = tokens.write_registration(cfg, &r) {
        crate::error::warn(&format!(
            "could not keep the client registration in ~/.aws/sso/cache ({e}); the next sign-in registers again"
        ));
    }
    Ok(r)
}

/// A new token from `token`'s refresh token, without asking anyone.
pub async fn refresh(cfg: &SsoConfig, net: &Net, token: &Token) -> Result<Token, Error> {
    let (Some(id), Some(secret), Some(refresh)) =
        (&token.client_id, &token.client_secret, &token.refresh_token)
    else {
        return Err(Error::Sso(format!("{} can't be refreshed", cfg.label())));
    };
    let client = client(&sdk_config(net, &cfg.region).await);
    let out = client
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type("refresh_token")
        .refresh_token(refresh)
        .send()
        .await
        .map_err(|e| failed(cfg, net, "CreateToken", &e))?;
    let access_token = out.access_token().ok_or_else(|| no_token(cfg))?;
    Ok(Token {
        access_token: access_token.to_string(),
        expires_at: time::now() + i64::from(out.expires_in()),
        // A service that sends no new refresh token lets the old one go on.
        refresh_token: out
            .refresh_token()
            .map(String::from)
            .or_else(|| token.refresh_token.clone()),
        region: Some(cfg.region.clone()),
        start_url: Some(cfg.start_url.clone()),
        ..token.clone()
    })
}

pub fn no_token(cfg: &SsoConfig) -> Error {
    Error::Sso(format!(
        "IAM Identity Center answered the sign-in to {} without a token; try again",
        cfg.start_url
    ))
}

/// What the SDK's endpoint resolver says when FIPS (or dual-stack) meets a custom endpoint.
const FIPS_AND_CUSTOM: &str = "FIPS and custom endpoint are not supported";
const DUAL_STACK_AND_CUSTOM: &str = "Dualstack and custom endpoint are not supported";

/// The sentence for a failure to resolve the SSO-OIDC endpoint, when it is one we can name.
pub fn endpoint_conflict(text: &str) -> Option<String> {
    let (what, var) = if text.contains(FIPS_AND_CUSTOM) {
        (
            "FIPS endpoints",
            "AWS_USE_FIPS_ENDPOINT / use_fips_endpoint",
        )
    } else if text.contains(DUAL_STACK_AND_CUSTOM) {
        (
            "dual-stack endpoints",
            "AWS_USE_DUALSTACK_ENDPOINT / use_dualstack_endpoint",
        )
    } else {
        return None;
    };
    Some(format!(
        "{what} ({var}) and a custom IAM Identity Center endpoint (AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_SSO or the profile's endpoint settings) can't be combined: unset one of them"
    ))
}

/// A failed call, in words: the network's explanation, the service's error, or the cause.
pub fn failed<E, R>(cfg: &SsoConfig, net: &Net, action: &str, err: &SdkError<E, R>) -> Error
where
    E: aws_sdk_ssooidc::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let site = format!("IAM Identity Center in {}", cfg.region);
    let msg = match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            format!(
                "{site} refused {action} for {}: {}{}",
                cfg.start_url,
                e.code().unwrap_or("an error"),
                e.message()
                    .map(|m| format!(" ({})", crate::error::one_line(m)))
                    .unwrap_or_default()
            )
        }
        SdkError::TimeoutError(_) => format!(
            "no answer from {site} within {} s: check your network, or raise --timeout",
            net.timeout().as_secs()
        ),
        other => {
            let url = format!("https://oidc.{}.amazonaws.com", cfg.region);
            let why = chain(other);
            endpoint_conflict(&why)
                .or_else(|| net.explain(other, &url))
                .unwrap_or_else(|| format!("could not reach {site}: {why}; check your network"))
        }
    };
    Error::Sso(msg)
}
