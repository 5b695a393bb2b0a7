//! Signing in to IAM Identity Center with the OAuth device authorization flow of SSO-OIDC
//! (RegisterClient, StartDeviceAuthorization, CreateToken polling), and refreshing a token
//! with its refresh token. What the user sees is the caller's: this only reports it.

use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_sso::config::Region;
use aws_sdk_ssooidc::error::SdkError;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use aws_sdk_ssooidc::operation::start_device_authorization::StartDeviceAuthorizationError;

use super::cache::{Registration, Token, TokenCache};
use super::SsoConfig;
use crate::error::{chain, Error};
use crate::net::Net;
use crate::time;

/// The OAuth grant type of a device code.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The polling interval when the service names none, and what `slow_down` adds (RFC 8628).
const DEFAULT_INTERVAL: u64 = 5;
const SLOW_DOWN: u64 = 5;

/// One second of the polling interval the service names: a second, unless the test hook
/// STSENV_SSO_POLL_MS (read once) makes it shorter, so that tests of polling need not wait.
pub fn poll_second() -> Duration {
    static UNIT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *UNIT.get_or_init(|| {
        std::env::var("STSENV_SSO_POLL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(1), Duration::from_millis)
    })
}

/// What the person signing in must see, and do.
#[derive(Debug, Clone)]
pub struct Approval {
    pub verification_uri: String,
    pub user_code: String,
    /// The URL that fills the code in by itself, when the service gives one.
    pub verification_uri_complete: Option<String>,
}

/// How the caller shows the flow: the code to approve, then a tick now and then while it
/// waits for the approval.
pub trait Ui {
    fn approve(&self, approval: &Approval);
    fn tick(&self);
    fn done(&self);
}

/// An SSO-OIDC client in `region`, through stsenv's network; AWS_ENDPOINT_URL_SSO_OIDC (and
/// the other endpoint settings) apply as in the AWS CLI.
pub async fn oidc_client(net: &Net, region: &str) -> aws_sdk_ssooidc::Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .http_client(net.client())
        .timeout_config(net.timeouts())
        .no_credentials()
        .load()
        .await;
    aws_sdk_ssooidc::Client::new(&sdk)
}

/// A new token through the device flow; the client registration is reused while it lasts.
pub async fn login(
    cfg: &SsoConfig,
    net: &Net,
    ui: &dyn Ui,
    tokens: &TokenCache,
) -> Result<Token, Error> {
    let client = oidc_client(net, &cfg.region).await;
    let mut registration = match tokens.read_registration(cfg) {
        Some(r) => r,
        None => register(&client, cfg, net, tokens).await?,
    };
    let start = |r: &Registration| {
        client
            .start_device_authorization()
            .client_id(&r.client_id)
            .client_secret(&r.client_secret)
            .start_url(&cfg.start_url)
            .send()
    };
    let device = match start(&registration).await {
        Ok(d) => d,
        // A registration the service no longer knows: register anew, once.
        Err(SdkError::ServiceError(e))
            if matches!(
                e.err(),
                StartDeviceAuthorizationError::InvalidClientException(_)
                    | StartDeviceAuthorizationError::UnauthorizedClientException(_)
            ) =>
        {
            registration = register(&client, cfg, net, tokens).await?;
            start(&registration)
                .await
                .map_err(|e| failed(cfg, net, "StartDeviceAuthorization", &e))?
        }
        Err(e) => return Err(failed(cfg, net, "StartDeviceAuthorization", &e)),
    };
    let (Some(device_code), Some(user_code), Some(verification_uri)) = (
        device.device_code(),
        device.user_code(),
        device.verification_uri(),
    ) else {
        return Err(Error::Sso(format!(
            "IAM Identity Center answered the sign-in to {} without a device code; try again",
            cfg.start_url
        )));
    };
    let mut interval = match device.interval() {
        n if n > 0 => n as u64,
        _ => DEFAULT_INTERVAL,
    };
    let deadline = Instant::now() + Duration::from_secs(device.expires_in().max(1) as u64);
    let approval = Approval {
        verification_uri: verification_uri.to_string(),
        user_code: user_code.to_string(),
        verification_uri_complete: device.verification_uri_complete().map(String::from),
    };
    let mut shown = false;
    loop {
        let attempt = client
            .create_token()
            .client_id(&registration.client_id)
            .client_secret(&registration.client_secret)
            .grant_type(DEVICE_GRANT)
            .device_code(device_code)
            .send()
            .await;
        match attempt {
            Ok(out) => {
                ui.done();
                let access_token = out.access_token().ok_or_else(|| no_token(cfg))?;
                return Ok(Token {
                    access_token: access_token.to_string(),
                    expires_at: time::now() + i64::from(out.expires_in()),
                    refresh_token: out.refresh_token().map(String::from),
                    client_id: Some(registration.client_id.clone()),
                    client_secret: Some(registration.client_secret.clone()),
                    registration_expires_at: Some(registration.expires_at),
                    region: Some(cfg.region.clone()),
                    start_url: Some(cfg.start_url.clone()),
                });
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                CreateTokenError::AuthorizationPendingException(_) => {}
                CreateTokenError::SlowDownException(_) => interval += SLOW_DOWN,
                CreateTokenError::ExpiredTokenException(_) => return Err(expired(cfg)),
                CreateTokenError::AccessDeniedException(x) => {
                    ui.done();
                    return Err(Error::Sso(format!(
                        "the sign-in to {} was denied{}; run stsenv login again to retry",
                        cfg.start_url,
                        x.error_description()
                            .map(|d| format!(" ({})", crate::error::one_line(d)))
                            .unwrap_or_default()
                    )));
                }
                _ => {
                    ui.done();
                    return Err(failed(cfg, net, "CreateToken", &SdkError::ServiceError(e)));
                }
            },
            Err(other) => {
                ui.done();
                return Err(failed(cfg, net, "CreateToken", &other));
            }
        }
        if !shown {
            // As the AWS CLI does: one try first, so a sign-in approved already asks nothing.
            ui.approve(&approval);
            shown = true;
        }
        let wake = Instant::now() + poll_second() * interval as u32;
        while Instant::now() < wake {
            if Instant::now() >= deadline {
                ui.done();
                return Err(expired(cfg));
            }
            ui.tick();
            let left = wake.saturating_duration_since(Instant::now());
            tokio::time::sleep(left.min(Duration::from_millis(200))).await;
        }
    }
}

/// A new token from `token`'s refresh token, without asking anyone.
pub async fn refresh(cfg: &SsoConfig, net: &Net, token: &Token) -> Result<Token, Error> {
    let (Some(id), Some(secret), Some(refresh)) =
        (&token.client_id, &token.client_secret, &token.refresh_token)
    else {
        return Err(Error::Sso(format!("{} can't be refreshed", cfg.label())));
    };
    let client = oidc_client(net, &cfg.region).await;
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

async fn register(
    client: &aws_sdk_ssooidc::Client,
    cfg: &SsoConfig,
    net: &Net,
    tokens: &TokenCache,
) -> Result<Registration, Error> {
    let name = match &cfg.session {
        Some(s) => format!("stsenv-client-{s}"),
        None => format!("stsenv-client-{}", time::now()),
    };
    let out = client
        .register_client()
        .client_name(name)
        .client_type("public")
        .set_scopes(cfg.scopes.clone())
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
    };
    if let Err(e) = tokens.write_registration(cfg, &r) {
        crate::error::warn(&format!(
            "could not keep the client registration in ~/.aws/sso/cache ({e}); the next sign-in registers again"
        ));
    }
    Ok(r)
}

fn expired(cfg: &SsoConfig) -> Error {
    Error::Sso(format!(
        "the sign-in to {} was not approved before its code expired; run stsenv login again",
        cfg.start_url
    ))
}

fn no_token(cfg: &SsoConfig) -> Error {
    Error::Sso(format!(
        "IAM Identity Center answered the sign-in to {} without a token; try again",
        cfg.start_url
    ))
}

/// A failed call, in words: the network's explanation, the service's error, or the cause.
fn failed<E, R>(cfg: &SsoConfig, net: &Net, action: &str, err: &SdkError<E, R>) -> Error
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
            net.explain(other, &url).unwrap_or_else(|| {
                format!(
                    "could not reach {site}: {}; check your network",
                    chain(other)
                )
            })
        }
    };
    Error::Sso(msg)
}
