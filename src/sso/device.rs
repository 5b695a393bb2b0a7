//! Signing in to IAM Identity Center with the OAuth device authorization flow of SSO-OIDC
//! (RegisterClient, StartDeviceAuthorization, CreateToken polling): the fallback where a
//! browser can't come back to this machine. What the user sees is the caller's: this only
//! reports it.

use std::time::{Duration, Instant};

use aws_sdk_ssooidc::error::SdkError;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use aws_sdk_ssooidc::operation::start_device_authorization::StartDeviceAuthorizationError;

use super::cache::{Grant, Registration, Token, TokenCache};
use super::oidc::{self, failed, no_token};
use super::SsoConfig;
use crate::error::Error;
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

/// A new token through the device flow; the client registration is reused while it lasts.
pub async fn login(
    cfg: &SsoConfig,
    net: &Net,
    ui: &dyn Ui,
    tokens: &TokenCache,
) -> Result<Token, Error> {
    let client = oidc::client(&oidc::sdk_config(net, &cfg.region).await);
    let mut registration = match tokens.read_registration(cfg, Grant::DeviceCode) {
        Some(r) => r,
        None => oidc::register(&client, cfg, net, tokens, Grant::DeviceCode).await?,
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
            registration = oidc::register(&client, cfg, net, tokens, Grant::DeviceCode).await?;
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

fn expired(cfg: &SsoConfig) -> Error {
    Error::Sso(format!(
        "the sign-in to {} was not approved before its code expired; run stsenv login again",
        cfg.start_url
    ))
}
