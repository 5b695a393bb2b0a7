//! Talking to IAM for `stsenv keys rotate`: one client configuration, the caller's own
//! CreateAccessKey and DeleteAccessKey, and every failure as a clause that says what to
//! check. Knows nothing of the keyring or of profiles.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::Region;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use crate::error::one_line;
use crate::keystore::Keys;
use crate::net::Net;
use crate::session::Credentials;

pub struct Iam {
    config: aws_sdk_iam::config::Builder,
    net: Net,
    /// Where requests go, for messages.
    endpoint: String,
    timeout: Duration,
}

/// How a call failed: IAM's error code (empty when there is none) and a clause for a
/// message, which never quotes a response body that could hold a secret.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    /// Whether waiting could help: IAM not yet knowing a new key, throttling, a server
    /// error, the network.
    pub transient: bool,
    pub said: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said)
    }
}

impl Iam {
    /// `profile`: the one whose settings (endpoint_url, services) apply.
    pub async fn new(net: &Net, region: &str, profile: Option<&str>) -> Iam {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .timeout_config(net.timeouts())
            .no_credentials();
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let sdk = loader.load().await;
        let endpoint =
            Net::configured_endpoint(&sdk, "IAM").unwrap_or_else(|| default_endpoint(region));
        Iam {
            config: aws_sdk_iam::config::Builder::from(&sdk).http_client(net.client()),
            net: net.clone(),
            endpoint,
            timeout: net.timeout(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn client(&self, creds: &Credentials) -> aws_sdk_iam::Client {
        let config = self
            .config
            .clone()
            .credentials_provider(creds.to_sdk())
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// A new access key for the IAM user `creds` belong to (no UserName: the caller's own).
    pub async fn create_access_key(&self, creds: &Credentials) -> Result<Keys, Failure> {
        let resp = self
            .client(creds)
            .create_access_key()
            .send()
            .await
            .map_err(|e| self.explain(e, "CreateAccessKey", &creds.access_key_id))?;
        let odd = || {
            Failure {
            code: String::new(),
            transient: false,
            said: format!(
                "IAM at {} answered CreateAccessKey without a usable access key; check that the endpoint is a real IAM",
                self.endpoint
            ),
        }
        };
        let key = resp.access_key().ok_or_else(odd)?;
        // What a server sends reaches the keyring and messages only if it is a key's shape.
        let keys = Keys {
            access_key_id: key.access_key_id().to_string(),
            secret_access_key: key.secret_access_key().to_string(),
        };
        if crate::validate::access_key_id(&keys.access_key_id).is_err()
            || crate::validate::secret_access_key(&keys.secret_access_key).is_err()
        {
            return Err(odd());
        }
        Ok(keys)
    }

    /// Deletes the caller's access key `id`.
    pub async fn delete_access_key(&self, creds: &Credentials, id: &str) -> Result<(), Failure> {
        self.client(creds)
            .delete_access_key()
            .access_key_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.explain(e, "DeleteAccessKey", &creds.access_key_id))
    }

    /// `key`: the access key id the call was signed with.
    fn explain<E>(&self, err: SdkError<E, HttpResponse>, action: &str, key: &str) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let endpoint = &self.endpoint;
        let failure = |code: &str, transient: bool, said: String| Failure {
            code: code.to_string(),
            transient,
            said,
        };
        let said_by_network = match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                self.net.explain(&err, endpoint)
            }
            SdkError::ServiceError(s) => {
                self.net.explain_status(s.raw().status().as_u16(), endpoint)
            }
            _ => None,
        };
        if let Some(said) = said_by_network {
            return failure("", false, said);
        }
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                // A 2xx that did not parse is never quoted: CreateAccessKey's holds a secret.
                if (200..300).contains(&status) {
                    return failure(
                        "",
                        false,
                        format!("IAM at {endpoint} sent a {action} response stsenv could not read (HTTP {status}); check that the endpoint is a real IAM"),
                    );
                }
                let e = service.err();
                // Some servers answer in another XML shape, which the SDK can't read: their
                // code and message then come from the (error) body.
                let from_body = || {
                    let said = crate::sts::body_error(service.raw().body().bytes().unwrap_or_default())?;
                    let (code, message) = said.split_once(": ").unwrap_or((&said, ""));
                    Some((code.to_string(), message.to_string()))
                };
                let (code, detail) = match e.code() {
                    Some(c) => (c.to_string(), one_line(e.message().unwrap_or(""))),
                    None => from_body().unwrap_or_default(),
                };
                let transient = status >= 500
                    || matches!(
                        code.as_str(),
                        "InvalidClientTokenId" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "ServiceFailure" | "ServiceUnavailable"
                    );
                let said = match code.as_str() {
                    "LimitExceeded" => "the IAM user already has two access keys, as many as IAM allows: delete the one not in use (`aws iam list-access-keys`, then `aws iam delete-access-key --access-key-id ID`) and rotate again".to_string(),
                    "AccessDenied" | "AccessDeniedException" => format!(
                        "IAM refused {action} to the key {key} (AccessDenied: {detail}); the IAM user needs iam:{action} on itself"
                    ),
                    "InvalidClientTokenId" | "SignatureDoesNotMatch" => format!(
                        "IAM does not accept the key {key} ({code}): it is deleted, inactive or not yet known to IAM"
                    ),
                    "NoSuchEntity" => format!("IAM has no such access key ({detail})"),
                    "" if status >= 500 => format!(
                        "IAM at {endpoint} failed {action} with HTTP {status}, even after retries: try again later"
                    ),
                    "" => format!(
                        "IAM at {endpoint} answered {action} with HTTP {status} and no IAM error: check the endpoint URL"
                    ),
                    _ => format!("IAM refused {action}: {code}: {detail}"),
                };
                failure(&code, transient, said)
            }
            SdkError::TimeoutError(_) => failure(
                "",
                true,
                format!(
                    "no answer from IAM at {endpoint} within {} s",
                    self.timeout.as_secs()
                ),
            ),
            SdkError::DispatchFailure(d) if d.is_timeout() => failure(
                "",
                true,
                format!(
                    "no answer from IAM at {endpoint} within {} s",
                    self.timeout.as_secs()
                ),
            ),
            SdkError::DispatchFailure(_) => failure(
                "",
                true,
                format!(
                    "could not reach IAM at {endpoint}: {}; check the endpoint URL and your network",
                    crate::sts::root_cause(&err)
                ),
            ),
            SdkError::ResponseError(_) => failure(
                "",
                false,
                format!("IAM at {endpoint} sent a {action} response stsenv could not read; check that the endpoint is a real IAM"),
            ),
            _ => failure(
                "",
                false,
                format!("{action} failed: {}", crate::sts::root_cause(&err)),
            ),
        }
    }
}

/// IAM is global: one endpoint per partition.
fn default_endpoint(region: &str) -> String {
    if region.starts_with("cn-") {
        "https://iam.cn-north-1.amazonaws.com.cn".into()
    } else if region.starts_with("us-gov-") {
        "https://iam.us-gov.amazonaws.com".into()
    } else {
        "https://iam.amazonaws.com".into()
    }
}
