//! The network: the one HTTP client that every request uses (STS, aws-config's providers and
//! every later client), its timeouts, and the async runtime. Knows nothing of credentials or
//! profiles.
//!
//! The client is aws-smithy-http-client's connectors behind a small router of ours, which
//! picks the connector per request: a TLS one is built (and the trust store loaded) only when
//! an https URL is asked for. Every response body is cut off at `MAX_BODY`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{Region, SharedAsyncSleep};
use aws_smithy_http_client::{tls, Connector};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use crate::error::Error;

/// The most stsenv reads of any response: STS, SSO and the federation endpoint answer in a
/// few kilobytes; an endless body must not grow memory without bound.
pub const MAX_BODY: usize = 1 << 20;

pub struct Net {
    timeout: Duration,
    client: SharedHttpClient,
}

impl Net {
    /// `timeout`: how long a request may go unanswered.
    pub fn new(timeout: Duration) -> Net {
        Net {
            timeout,
            client: SharedHttpClient::new(Router::default()),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .operation_timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .build()
    }

    /// The client for every request, http or https.
    pub fn client(&self) -> SharedHttpClient {
        self.client.clone()
    }

    /// What aws-config's providers need to reach SSO, IMDS or ECS: region, client, timeouts.
    pub fn provider_config(&self, region: &Region) -> ProviderConfig {
        ProviderConfig::without_region()
            .with_region(Some(region.clone()))
            .with_http_client(self.client())
            .with_timeout_config(self.timeouts())
            .with_behavior_version(Some(aws_config::BehaviorVersion::latest()))
    }
}

/// The runtime for the paths that make requests; the others never build one.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// Connect and read timeouts: what tells one connector setting from another.
type Timeouts = (Option<Duration>, Option<Duration>);

/// Hands out one `Route` per connector settings (timeouts), as the SDK asks for them.
#[derive(Debug, Default)]
struct Router {
    routes: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for Router {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes
            .entry(key)
            .or_insert_with(|| {
                SharedHttpConnector::new(Route {
                    settings: settings.clone(),
                    sleep: components.sleep_impl(),
                    connectors: Arc::default(),
                })
            })
            .clone()
    }
}

#[derive(Debug, Clone)]
struct Route {
    settings: HttpConnectorSettings,
    sleep: Option<SharedAsyncSleep>,
    /// Built on first use: the plain connector, and the TLS one.
    connectors: Arc<Mutex<HashMap<bool, SharedHttpConnector>>>,
}

impl Route {
    fn connector(&self, tls: bool) -> SharedHttpConnector {
        let mut built = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        built
            .entry(tls)
            .or_insert_with(|| {
                let mut b = Connector::builder();
                b.set_connector_settings(Some(self.settings.clone()));
                b.set_sleep_impl(self.sleep.clone());
                SharedHttpConnector::new(if tls {
                    // ring, not aws-lc: one TLS stack, and the smaller binary.
                    b.tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build()
                } else {
                    b.build_http()
                })
            })
            .clone()
    }
}

impl HttpConnector for Route {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let tls = request.uri().starts_with("https://");
        let pending = self.connector(tls).call(request);
        HttpConnectorFuture::new(async move {
            let response = pending.await?;
            Ok(response
                .map(|body| SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_BODY))))
        })
    }
}
