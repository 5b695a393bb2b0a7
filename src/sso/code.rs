//! Signing in to IAM Identity Center as the AWS CLI v2 does by default: the authorization
//! code with PKCE, the browser coming back to a listener on 127.0.0.1. RegisterClient for that
//! grant, the `/authorize` URL of the SSO-OIDC endpoint the client resolves, then CreateToken
//! with the code and its verifier. What the user sees is the caller's: this only reports it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use aws_sdk_ssooidc::error::SdkError;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use super::cache::{Grant, Token, TokenCache};
use super::oidc::{self, failed, no_token};
use super::pkce::{self, Authorize, Ending, Events, Listener, Pkce, Refused, WaitError};
use super::SsoConfig;
use crate::error::Error;
use crate::net::Net;
use crate::time;

pub use super::pkce::DEFAULT_WAIT;

/// How often the spinner turns while the browser is awaited.
const TICK: Duration = Duration::from_millis(100);

/// How the caller shows the flow: the URL to open in a browser on this machine (opened, or
/// only printed), a tick now and then while the browser is awaited, and a callback that was
/// refused (another sign-in's state) while the wait goes on.
pub trait Ui {
    fn authorize(&self, url: &str);
    fn tick(&self);
    fn refused(&self, why: &Refused);
    fn done(&self);
}

/// A new token through the browser; the client registration is reused while it lasts (one
/// the AWS CLI v2 made for this flow too). `wait`: how long the browser has to come back.
pub async fn login(
    cfg: &SsoConfig,
    net: &Net,
    ui: &dyn Ui,
    tokens: &TokenCache,
    wait: Duration,
) -> Result<Token, Error> {
    let sdk = oidc::sdk_config(net, &cfg.region).await;
    let base = authorize_base(&sdk).await.map_err(Error::Sso)?;
    let client = oidc::client(&sdk);
    let registration = match tokens.read_registration(cfg, Grant::AuthorizationCode) {
        Some(r) => r,
        None => oidc::register(&client, cfg, net, tokens, Grant::AuthorizationCode).await?,
    };
    // Bound before the URL exists and kept until the one valid callback: a fast redirect
    // can't find the port closed.
    let listener = Listener::bind().map_err(|e| {
        Error::Sso(format!(
            "cannot listen on 127.0.0.1 for the browser to come back ({e}); check that the loopback interface is up, or use --use-device-code"
        ))
    })?;
    let redirect_uri = listener.redirect_uri();
    let random = |e: std::io::Error| {
        Error::Sso(format!(
            "cannot get random bytes from the operating system for the sign-in: {e}"
        ))
    };
    let pkce = Pkce::new().map_err(random)?;
    let state = pkce::new_state().map_err(random)?;
    let url = pkce::authorize_url(&Authorize {
        base: &base,
        client_id: &registration.client_id,
        redirect_uri: &redirect_uri,
        state: &state,
        challenge: pkce.challenge(),
        scopes: cfg.scopes.as_deref(),
    });
    ui.authorize(&url);
    let callback = match await_browser(listener, state, wait, ui).await {
        Ok(cb) => cb,
        Err(WaitError::Denied { error, .. })
            if matches!(error.as_str(), "invalid_client" | "unauthorized_client") =>
        {
            tokens.forget_registration(cfg, &registration.client_id);
            return Err(stale_registration(cfg, &error));
        }
        Err(e) => {
            let hint = match e {
                WaitError::TimedOut(_) => " (--wait gives the browser longer)",
                _ => "",
            };
            return Err(Error::Sso(format!(
                "could not sign in to {}: {e}; run stsenv login again{hint}",
                cfg.label()
            )));
        }
    };
    let sent = client
        .create_token()
        .client_id(&registration.client_id)
        .client_secret(&registration.client_secret)
        .grant_type("authorization_code")
        .code(callback.code().expose())
        .redirect_uri(&redirect_uri)
        .code_verifier(pkce.verifier().expose())
        .send()
        .await;
    // The tab is answered only now, so that what it says is true.
    let out = match sent {
        Ok(out) if out.access_token().is_some() => {
            callback.finish(Ending::SignedIn);
            out
        }
        Ok(_) => {
            callback.finish(Ending::Failed);
            return Err(no_token(cfg));
        }
        Err(e) => {
            callback.finish(Ending::Failed);
            return Err(create_token_failed(
                cfg,
                net,
                tokens,
                &registration.client_id,
                &e,
            ));
        }
    };
    Ok(Token {
        access_token: out.access_token().unwrap_or_default().to_string(),
        expires_at: time::now() + i64::from(out.expires_in()),
        refresh_token: out.refresh_token().map(String::from),
        client_id: Some(registration.client_id.clone()),
        client_secret: Some(registration.client_secret.clone()),
        registration_expires_at: Some(registration.expires_at),
        region: Some(cfg.region.clone()),
        start_url: Some(cfg.start_url.clone()),
    })
}

/// The listener's wait, on the blocking pool (the runtime goes on driving the SDK's pooled
/// connections), with the spinner turned and refusals told here.
async fn await_browser(
    listener: Listener,
    state: String,
    within: Duration,
    ui: &dyn Ui,
) -> Result<pkce::Callback, WaitError> {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let events = Relay {
        tx: Mutex::new(tx),
        stop: stop.clone(),
    };
    // If this future is dropped, the listener stops at its next poll rather than at the
    // deadline.
    let _stop = StopOnDrop(stop);
    let mut waiting = tokio::task::spawn_blocking(move || listener.wait(&state, within, &events));
    let waited = loop {
        match tokio::time::timeout(TICK, &mut waiting).await {
            Ok(done) => break done,
            Err(_) => {
                for why in rx.try_iter() {
                    ui.refused(&why);
                }
                ui.tick();
            }
        }
    };
    for why in rx.try_iter() {
        ui.refused(&why);
    }
    ui.done();
    waited.unwrap_or_else(|e| {
        Err(WaitError::Io(std::io::Error::other(format!(
            "it stopped ({e})"
        ))))
    })
}

/// The listener's events, sent to the task that shows them.
struct Relay {
    tx: Mutex<mpsc::Sender<Refused>>,
    stop: Arc<AtomicBool>,
}

impl Events for Relay {
    fn refused(&self, why: &Refused) {
        if why.worth_saying() {
            let _ = self
                .tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(why.clone());
        }
    }

    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn stale_registration(cfg: &SsoConfig, code: &str) -> Error {
    Error::Sso(format!(
        "IAM Identity Center no longer accepts the cached client registration for {} ({code}); it has been dropped: run stsenv login again to register anew",
        cfg.start_url
    ))
}

fn create_token_failed<R>(
    cfg: &SsoConfig,
    net: &Net,
    tokens: &TokenCache,
    client_id: &str,
    err: &SdkError<CreateTokenError, R>,
) -> Error
where
    R: std::fmt::Debug + 'static,
{
    if let SdkError::ServiceError(s) = err {
        match s.err() {
            CreateTokenError::InvalidGrantException(_) => {
                return Error::Sso(format!(
                    "IAM Identity Center did not accept the sign-in's code for {} (invalid_grant); run stsenv login again",
                    cfg.start_url
                ))
            }
            CreateTokenError::ExpiredTokenException(_) => {
                return Error::Sso(format!(
                    "the sign-in's code for {} expired before it was used; run stsenv login again",
                    cfg.start_url
                ))
            }
            CreateTokenError::InvalidClientException(_)
            | CreateTokenError::UnauthorizedClientException(_) => {
                tokens.forget_registration(cfg, client_id);
                let code = aws_sdk_ssooidc::error::ProvideErrorMetadata::code(s.err());
                return stale_registration(cfg, code.unwrap_or("invalid_client"));
            }
            _ => {}
        }
    }
    failed(cfg, net, "CreateToken", err)
}

/// An HTTP client that only notes where the first request would go, and answers it with an
/// error: nothing leaves the process.
#[derive(Debug, Clone, Default)]
struct Probe(Arc<Mutex<Option<String>>>);

impl HttpConnector for Probe {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.is_none() {
            *seen = Some(request.uri().to_string());
        }
        let status = 400u16.try_into().expect("400 is a status");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from("{}"))))
    }
}

impl HttpClient for Probe {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// `scheme://host[:port]` of the SSO-OIDC endpoint as the client resolves it (region,
/// partition, FIPS, dual-stack, AWS_ENDPOINT_URL_SSO_OIDC), the path of a custom endpoint
/// dropped: the AWS CLI's `_get_base_authorization_uri`, which resolves a RegisterClient
/// without sending it. `sdk` is the configuration the client is built from.
pub async fn authorize_base(sdk: &aws_types::SdkConfig) -> Result<String, String> {
    let probe = Probe::default();
    let config = aws_sdk_ssooidc::config::Builder::from(sdk)
        .http_client(probe.clone())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let sent = aws_sdk_ssooidc::Client::from_conf(config)
        .register_client()
        .client_name("stsenv-endpoint-probe")
        .client_type("public")
        .send()
        .await;
    let seen = probe.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(uri) = seen else {
        // The endpoint could not be resolved (FIPS and a custom endpoint together, say).
        let why = sent
            .err()
            .map(|e| crate::error::chain(&e))
            .unwrap_or_default();
        return Err(oidc::endpoint_conflict(&why).unwrap_or_else(|| {
            format!("cannot tell the IAM Identity Center sign-in endpoint: {why}")
        }));
    };
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or_else(|| format!("the IAM Identity Center endpoint {uri} is not a URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    Ok(format!("{scheme}://{host}"))
}
