//! The network: the one HTTP client that every request uses (STS, aws-config's providers,
//! SSO, the console), its timeouts, proxies and extra CA certificates, failures said in
//! words, and the async runtime. Knows nothing of credentials or profiles.
//!
//! The client is aws-smithy-http-client's connectors behind a small router of ours, which
//! picks the connector per request: direct or through the proxy the AWS CLI's rules choose,
//! TLS (and the trust store) only for an https URL. Every response body is cut off at
//! `MAX_BODY`.

pub mod proxy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{Region, SharedAsyncSleep};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use crate::env::Env;
use crate::error::Error;
use crate::verbose;
use proxy::{Proxies, Proxy};

/// The most stsenv reads of any response: STS, SSO and the federation endpoint answer in a
/// few kilobytes; an endless body must not grow memory without bound.
pub const MAX_BODY: usize = 1 << 20;

/// The largest CA bundle read (the whole Mozilla store is about 250 KB).
const MAX_CA_BUNDLE: u64 = 8 << 20;

/// What every request shares: the proxies, the extra CA certificates.
#[derive(Debug)]
struct Setup {
    proxies: Proxies,
    /// The bundle's path (for messages) and the TLS context that trusts it.
    ca_bundle: Option<PathBuf>,
    tls: TlsContext,
}

#[derive(Clone)]
pub struct Net {
    timeout: Duration,
    client: SharedHttpClient,
    setup: Arc<Setup>,
    variants: Variants,
}

/// Whether requests go to FIPS and dual-stack endpoints (`AWS_USE_FIPS_ENDPOINT` /
/// `use_fips_endpoint`, `AWS_USE_DUALSTACK_ENDPOINT` / `use_dualstack_endpoint`), as resolved
/// for the profile whose settings apply (`Context::variants`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variants {
    pub fips: bool,
    pub dual_stack: bool,
}

/// Where a CA bundle came from, for messages.
#[derive(Debug, Clone, Copy)]
pub enum CaSource {
    Env,
    Profile,
}

impl Net {
    /// The network as `env` sets it up (the proxy variables), trusting `bundle`'s CA
    /// certificates too (`Context::ca_bundle` picks it). A proxy URL or a bundle that can't be
    /// used is an error that names it, before any request.
    pub fn new(
        env: &Env,
        timeout: Duration,
        bundle: Option<(PathBuf, CaSource)>,
    ) -> Result<Net, Error> {
        let proxies = Proxies::from_env(env)?;
        let mut trust = TrustStore::default();
        let ca_bundle = match bundle {
            Some((path, from)) => {
                trust = trust.with_pem_certificate(read_ca_bundle(&path, from)?);
                Some(path)
            }
            None => None,
        };
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .map_err(|e| Error::Network(format!("cannot set up TLS: {e}")))?;
        let setup = Arc::new(Setup {
            proxies,
            ca_bundle,
            tls,
        });
        verbose::say(|| {
            format!(
                "network: {}; extra CA certificates: {}",
                setup.proxies.describe(),
                setup
                    .ca_bundle
                    .as_ref()
                    .map_or("none".to_string(), |p| p.display().to_string())
            )
        });
        Ok(Net {
            timeout,
            client: SharedHttpClient::new(Router {
                setup: setup.clone(),
                routes: Mutex::default(),
            }),
            setup,
            variants: Variants::default(),
        })
    }

    /// The same network, with requests to FIPS / dual-stack endpoints as `variants` says.
    pub fn with_variants(mut self, variants: Variants) -> Net {
        self.variants = variants;
        self
    }

    pub fn variants(&self) -> Variants {
        self.variants
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

    /// What aws-config's providers need to reach SSO, IMDS or ECS: region, client, timeouts,
    /// FIPS and dual-stack (which aws-config's SSO provider does not resolve by itself).
    pub fn provider_config(&self, region: &Region) -> ProviderConfig {
        ProviderConfig::without_region()
            .with_region(Some(region.clone()))
            .with_http_client(self.client())
            .with_timeout_config(self.timeouts())
            .with_use_fips(Some(self.variants.fips))
            .with_use_dual_stack(Some(self.variants.dual_stack))
            .with_behavior_version(Some(aws_config::BehaviorVersion::latest()))
    }

    /// An SDK configuration for a client in `region` that signs nothing (SSO, SSO-OIDC), over
    /// this network, with its FIPS / dual-stack choice; the endpoint settings
    /// (AWS_ENDPOINT_URL_*) apply as in the AWS CLI.
    pub fn sdk_loader(&self, region: &str) -> aws_config::ConfigLoader {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .http_client(self.client())
            .timeout_config(self.timeouts())
            .use_fips(self.variants.fips)
            .use_dual_stack(self.variants.dual_stack)
            .no_credentials()
    }

    /// The endpoint configured for a client of `service_id` ("STS", "IAM") in `sdk`, by the
    /// precedence its client applies: AWS_ENDPOINT_URL_<SERVICE> or the profile's services
    /// section, then AWS_ENDPOINT_URL or the profile's endpoint_url (or one given to the
    /// loader). None: the service's default.
    pub fn configured_endpoint(sdk: &aws_types::SdkConfig, service_id: &str) -> Option<String> {
        use aws_types::service_config::ServiceConfigKey;
        ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()
            .and_then(|key| sdk.service_config()?.load_config(key))
            .or_else(|| sdk.endpoint_url().map(String::from))
    }

    /// A GET of `url` outside any SDK (the console's federation endpoint), through the same
    /// proxies, trust store, timeouts and body cap. Returns the status and the body; a failure
    /// to reach the server is one sentence that names only the site (the query of some of
    /// these URLs carries credentials).
    pub async fn get(&self, url: &str) -> Result<(u16, Vec<u8>), Error> {
        use http_body_util::BodyExt;
        let site = site_of(url);
        let mut request = HttpRequest::new(SdkBody::empty());
        request
            .set_uri(url)
            .map_err(|_| Error::Network(format!("{site} is not a URL stsenv can request")))?;
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .read_timeout(self.timeout)
            .build();
        let route = Route {
            settings,
            sleep: Some(SharedAsyncSleep::new(
                aws_smithy_async::rt::sleep::TokioSleep::new(),
            )),
            setup: self.setup.clone(),
            connectors: Arc::default(),
        };
        let unreachable = |e: &(dyn std::error::Error + 'static)| {
            self.explain(e, url).unwrap_or_else(|| {
                format!(
                    "could not reach {site}: {}; check your network",
                    crate::error::chain(e)
                )
            })
        };
        let answer = async {
            let response = route
                .call(request)
                .await
                .map_err(|e| Error::Network(unreachable(&e)))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Error::Network(unreachable(e.as_ref())))?
                .to_bytes()
                .to_vec();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, answer)
            .await
            .map_err(|_| {
                Error::Network(format!(
                    "no answer from {site} within {} s: check your network, or raise --timeout",
                    self.timeout.as_secs()
                ))
            })?
    }

    /// A sentence for a failure to reach `url` that the network explains (a certificate
    /// not trusted, expired or for another name; a proxy that refuses or wants a password),
    /// or None when it is something else.
    pub fn explain(&self, err: &(dyn std::error::Error + 'static), url: &str) -> Option<String> {
        let proxy = self.setup.proxies.for_url(url);
        let site = site_of(url);
        for e in chain(err) {
            if let Some(r) = e.downcast_ref::<rustls::Error>() {
                return Some(self.tls_failure(r, &site));
            }
            let text = e.to_string();
            if let Some(p) = proxy {
                if let Some(msg) = proxy_failure(&text, p, &site) {
                    return Some(msg);
                }
                if let Some(io) = e.downcast_ref::<std::io::Error>() {
                    if io.kind() == std::io::ErrorKind::ConnectionRefused {
                        return Some(format!(
                            "could not connect to the proxy {} (connection refused) for {site}; check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY",
                            p.shown
                        ));
                    }
                }
            }
        }
        None
    }

    /// A 407 from a forward (plain-http) proxy comes back as an HTTP response.
    pub fn explain_status(&self, status: u16, url: &str) -> Option<String> {
        let p = self.setup.proxies.for_url(url)?;
        (status == 407).then(|| {
            format!(
                "the proxy {} answered 407 Proxy Authentication Required for {}: put the right user and password in the proxy URL (http://user:password@host:port)",
                p.shown,
                site_of(url)
            )
        })
    }

    fn tls_failure(&self, err: &rustls::Error, site: &str) -> String {
        use rustls::CertificateError as Ce;
        let hint = match &self.setup.ca_bundle {
            Some(p) => format!(
                "; the extra CA certificates in {} don't vouch for it either",
                p.display()
            ),
            None => "; if your company inspects TLS, point AWS_CA_BUNDLE at its CA bundle".into(),
        };
        match err {
            rustls::Error::InvalidCertificate(c) => match c {
                Ce::UnknownIssuer => {
                    format!("the certificate of {site} is not trusted (unknown issuer){hint}")
                }
                Ce::Expired | Ce::ExpiredContext { .. } => format!(
                    "the certificate of {site} has expired; check this machine's clock, and tell whoever runs the endpoint"
                ),
                Ce::NotValidYet | Ce::NotValidYetContext { .. } => format!(
                    "the certificate of {site} is not valid yet; check this machine's clock"
                ),
                Ce::NotValidForName | Ce::NotValidForNameContext { .. } => format!(
                    "the certificate of {site} is for another host name; check the endpoint URL (a proxy that inspects TLS may be answering for it{})",
                    if self.setup.ca_bundle.is_some() { "" } else { ": then point AWS_CA_BUNDLE at its CA bundle" }
                ),
                Ce::Revoked => format!("the certificate of {site} has been revoked"),
                other => format!("the certificate of {site} is not accepted ({other:?}){hint}"),
            },
            other => format!("the TLS connection to {site} failed ({other}){hint}"),
        }
    }
}

/// `scheme://host[:port]` of a URL: what messages and --verbose may show of it (the path and
/// query of some requests carry secrets).
pub fn site_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}")
}

/// The CONNECT failures hyper-util reports only in words (its error type is private).
fn proxy_failure(text: &str, p: &Proxy, site: &str) -> Option<String> {
    let msg = match text {
        "tunnel error: proxy authorization required" => format!(
            "the proxy {} answered 407 Proxy Authentication Required for {site}: put the right user and password in the proxy URL (http://user:password@host:port)",
            p.shown
        ),
        "tunnel error: unsuccessful" => format!(
            "the proxy {} refused to connect to {site} (it answered CONNECT with an error status); check that the proxy allows it",
            p.shown
        ),
        "tunnel error: failed to create underlying connection" => format!(
            "could not connect to the proxy {} for {site}; check HTTPS_PROXY / HTTP_PROXY, or list the host in NO_PROXY",
            p.shown
        ),
        "tunnel error: unexpected end of file" => format!(
            "the proxy {} closed the connection to {site}; check that the proxy allows it",
            p.shown
        ),
        _ => return None,
    };
    Some(msg)
}

/// An error and its causes, looking inside io::Error (whose source() skips its payload, where
/// rustls puts its errors).
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|i| i as &(dyn std::error::Error + 'static)),
        None => e.source(),
    })
}

/// The bundle's PEM, checked the way the TLS stack will read it (which would panic on a bad
/// one rather than say so).
fn read_ca_bundle(path: &Path, from: CaSource) -> Result<Vec<u8>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let named = match from {
        CaSource::Env => "AWS_CA_BUNDLE",
        CaSource::Profile => "the profile's ca_bundle",
    };
    let bad = |why: String| {
        Error::Network(format!(
            "the CA bundle {} (from {named}) cannot be used: {why}; point it at a PEM file of CA certificates",
            path.display()
        ))
    };
    let text = crate::fsutil::read_text(path, MAX_CA_BUNDLE)
        .map_err(bad)?
        .ok_or_else(|| bad("there is no such file".into()))?;
    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(text.as_bytes()).enumerate() {
        let der = cert.map_err(|e| bad(format!("it is not valid PEM ({e})")))?;
        roots
            .add(der)
            .map_err(|e| bad(format!("certificate {} in it is not usable ({e})", i + 1)))?;
    }
    if roots.is_empty() {
        return Err(bad("it holds no certificate".into()));
    }
    Ok(text.into_bytes())
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
#[derive(Debug)]
struct Router {
    setup: Arc<Setup>,
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
                    setup: self.setup.clone(),
                    connectors: Arc::default(),
                })
            })
            .clone()
    }
}

/// Whether a connector speaks TLS, and the proxy URL it goes through.
type ConnectorKey = (bool, Option<String>);

#[derive(Debug, Clone)]
struct Route {
    settings: HttpConnectorSettings,
    sleep: Option<SharedAsyncSleep>,
    setup: Arc<Setup>,
    /// Built on first use, one per (TLS or not, proxy).
    connectors: Arc<Mutex<HashMap<ConnectorKey, SharedHttpConnector>>>,
}

impl Route {
    /// None when the proxy can't be set up: the request then fails, and never goes around
    /// the proxy (which may be the company's egress control). `Proxies` checked every URL
    /// with the same parser, so this does not happen.
    fn connector(&self, tls: bool, proxy: Option<&Proxy>) -> Option<SharedHttpConnector> {
        let config = match proxy {
            Some(p) => ProxyConfig::all(p.url.as_str()).ok()?,
            None => ProxyConfig::disabled(),
        };
        let mut built = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        let connector = built
            .entry((tls, proxy.map(|p| p.url.clone())))
            .or_insert_with(|| {
                let mut b = Connector::builder().proxy_config(config);
                b.set_connector_settings(Some(self.settings.clone()));
                b.set_sleep_impl(self.sleep.clone());
                SharedHttpConnector::new(if tls {
                    // ring, not aws-lc: one TLS stack, and the smaller binary.
                    b.tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .tls_context(self.setup.tls.clone())
                    .build()
                } else {
                    b.build_http()
                })
            })
            .clone();
        Some(connector)
    }
}

impl HttpConnector for Route {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let url = request.uri().to_string();
        let proxy = self.setup.proxies.for_url(&url);
        // A plain-http request needs no TLS (nor the trust store), unless its proxy does.
        let tls = url.starts_with("https://") || proxy.is_some_and(|p| p.url.starts_with("https:"));
        verbose::say(|| {
            let via = proxy.map_or("directly".to_string(), |p| format!("through {}", p.shown));
            let ca = match (&self.setup.ca_bundle, url.starts_with("https://")) {
                (Some(p), true) => format!(", trusting {} too", p.display()),
                _ => String::new(),
            };
            format!("{} {} {via}{ca}", request.method(), site_of(&url))
        });
        let Some(connector) = self.connector(tls, proxy) else {
            let shown = proxy.map(|p| p.shown.clone()).unwrap_or_default();
            return HttpConnectorFuture::ready(Err(ConnectorError::user(
                format!("the proxy {shown} can't be used").into(),
            )));
        };
        let pending = connector.call(request);
        HttpConnectorFuture::new(async move {
            let response = pending.await?;
            Ok(response
                .map(|body| SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_BODY))))
        })
    }
}
