//! The network: the one HTTP client that every request uses (STS, aws-config's providers and
//! every later client), its timeouts, and the async runtime. Built only when a request is
//! about to be made; knows nothing of credentials or profiles.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{Region, SharedHttpClient};
use aws_smithy_http_client::tls;

use crate::error::Error;

pub struct Net {
    timeout: Duration,
    https: OnceLock<SharedHttpClient>,
    plain: OnceLock<SharedHttpClient>,
}

impl Net {
    /// `timeout`: how long a request may go unanswered.
    pub fn new(timeout: Duration) -> Net {
        Net {
            timeout,
            https: OnceLock::new(),
            plain: OnceLock::new(),
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

    /// The client for any URL, https included.
    pub fn client(&self) -> SharedHttpClient {
        self.https
            .get_or_init(|| {
                // ring, not aws-lc: one TLS stack, and the smaller binary.
                aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https()
            })
            .clone()
    }

    /// The client for requests to `endpoint`: a plain-http endpoint (a local STS) needs no
    /// TLS, so the trust store isn't loaded for it.
    pub fn client_for(&self, endpoint: &str) -> SharedHttpClient {
        if endpoint.starts_with("http://") {
            self.plain
                .get_or_init(|| aws_smithy_http_client::Builder::new().build_http())
                .clone()
        } else {
            self.client()
        }
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
