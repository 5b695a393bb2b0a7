//! Talking to STS: one client configuration, the calls stsenv makes, and every STS or
//! network failure turned into a sentence that says what to check. Knows nothing of profiles
//! or the cache.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::Region;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};

use crate::error::{one_line, Error};
use crate::net::Net;
use crate::session::Credentials;

/// The options of an AssumeRole call that a person sets, on the command line or in a profile
/// (the command line wins for the role it names), every value already checked. Adding one
/// is a field here, its row in `OPTIONS`, its line in `Sts::assume_role`, the clap field, and
/// the cache key if it changes what STS hands out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleOptions {
    pub session_name: Option<String>,
    pub duration: Option<u32>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    /// A one-time MFA code: given to the one call that needs it, never replayed.
    pub token_code: Option<String>,
    /// The policy text itself (an `@file` has been read).
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub source_identity: Option<String>,
}

/// What one option's flag takes part in.
pub struct RoleOption {
    pub flag: &'static str,
    /// Whether it means anything for a profile without a role (only for the MFA session of
    /// long-term keys; `false` for what is about AssumeRole alone).
    pub mfa_session: bool,
    /// Whether it is about assuming a role at all (an MFA code is not, on its own).
    pub role_only: bool,
    /// Whether a refresh gives it again (a one-time MFA code is not).
    pub replayed: bool,
    /// Its values as typed again on a command line, one per repetition; none when not given.
    pub values: fn(&RoleOptions) -> Vec<String>,
}

fn value(v: &Option<String>) -> Vec<String> {
    v.iter().cloned().collect()
}

/// Every option, in the order `stsenv assume --help` lists them.
pub const OPTIONS: [RoleOption; 9] = [
    RoleOption {
        flag: "--session-name",
        mfa_session: false,
        role_only: true,
        replayed: true,
        values: |o| value(&o.session_name),
    },
    RoleOption {
        flag: "--duration",
        mfa_session: true,
        role_only: true,
        replayed: true,
        values: |o| o.duration.iter().map(u32::to_string).collect(),
    },
    RoleOption {
        flag: "--external-id",
        mfa_session: false,
        role_only: true,
        replayed: true,
        values: |o| value(&o.external_id),
    },
    RoleOption {
        flag: "--mfa-serial",
        mfa_session: true,
        role_only: true,
        replayed: true,
        values: |o| value(&o.mfa_serial),
    },
    RoleOption {
        flag: "--token-code",
        mfa_session: true,
        role_only: false,
        replayed: false,
        values: |o| value(&o.token_code),
    },
    RoleOption {
        flag: "--policy",
        mfa_session: false,
        role_only: true,
        replayed: true,
        values: |o| value(&o.policy),
    },
    RoleOption {
        flag: "--policy-arn",
        mfa_session: false,
        role_only: true,
        replayed: true,
        values: |o| o.policy_arns.clone(),
    },
    RoleOption {
        flag: "--tag",
        mfa_session: false,
        role_only: true,
        replayed: true,
        values: |o| o.tags.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    },
    RoleOption {
        flag: "--source-identity",
        mfa_session: false,
        role_only: true,
        replayed: true,
        values: |o| value(&o.source_identity),
    },
];

impl RoleOptions {
    /// The options given, by their rows.
    pub fn given(&self) -> impl Iterator<Item = &'static RoleOption> + '_ {
        OPTIONS.iter().filter(move |o| !(o.values)(self).is_empty())
    }

    /// The words that give these options again on a command line (never a one-time code).
    pub fn replay(&self) -> Vec<String> {
        let mut words = Vec::new();
        for o in OPTIONS.iter().filter(|o| o.replayed) {
            for v in (o.values)(self) {
                words.push(o.flag.to_string());
                words.push(v);
            }
        }
        words
    }

    /// These options (the command line's) over what a profile configures for the role they
    /// name: given values win; a profile sets only the session name, duration, external id
    /// and MFA device, so the rest are the command line's alone. The MFA code is the
    /// profile's: the planner gives it to the hop that needs it.
    pub fn over(&self, profile: &RoleOptions) -> RoleOptions {
        RoleOptions {
            session_name: self.session_name.clone().or(profile.session_name.clone()),
            duration: self.duration.or(profile.duration),
            external_id: self.external_id.clone().or(profile.external_id.clone()),
            mfa_serial: self.mfa_serial.clone().or(profile.mfa_serial.clone()),
            token_code: profile.token_code.clone(),
            policy: self.policy.clone(),
            policy_arns: self.policy_arns.clone(),
            tags: self.tags.clone(),
            source_identity: self.source_identity.clone(),
        }
    }
}

/// The parameters of one AssumeRoot call: the member account, the task's policy ARN, and
/// how long the session lasts (900 s at most, also the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCall {
    pub account: String,
    pub task_arn: String,
    pub duration: u32,
}

/// The root tasks AWS defines, by the names `--task` takes.
pub const ROOT_TASKS: [&str; 5] = [
    "IAMAuditRootUserCredentials",
    "IAMCreateRootUserPassword",
    "IAMDeleteRootUserCredentials",
    "S3UnlockBucketPolicy",
    "SQSUnlockQueuePolicy",
];

/// The longest root session STS grants, and the one given when none is asked for.
pub const MAX_ROOT_SECS: u32 = 900;

impl RootCall {
    /// The task's name, the last part of its policy ARN.
    pub fn task_name(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }
}

/// The parameters of one AssumeRole call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleCall {
    pub role_arn: String,
    /// The session name when none is given or configured: `stsenv-<user>`.
    pub default_session: String,
    pub options: RoleOptions,
}

impl RoleCall {
    pub fn session_name(&self) -> &str {
        self.options
            .session_name
            .as_deref()
            .unwrap_or(&self.default_session)
    }
}

pub struct Sts {
    config: aws_sdk_sts::config::Builder,
    net: Net,
    /// Where requests go, for messages.
    endpoint: String,
    region: String,
    timeout: Duration,
}

impl Sts {
    /// `profile` is the one whose settings (endpoint_url, services) apply.
    pub async fn new(
        net: &Net,
        region: &str,
        endpoint_url: Option<&str>,
        profile: Option<&str>,
    ) -> Sts {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .timeout_config(net.timeouts())
            .no_credentials();
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        let endpoint = endpoint_url
            .map(String::from)
            .or_else(|| Net::configured_endpoint(&sdk, "STS"))
            .unwrap_or_else(|| default_endpoint(region));
        Sts {
            config: aws_sdk_sts::config::Builder::from(&sdk).http_client(net.client()),
            net: net.clone(),
            endpoint,
            region: region.to_string(),
            timeout: net.timeout(),
        }
    }

    /// Where requests go, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The same client making each call once, for a caller whose own retries are bounded
    /// in time (the SDK's backoff would stretch each try).
    pub fn once(mut self) -> Sts {
        self.config = self
            .config
            .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled());
        self
    }

    fn client(&self, creds: &Credentials) -> aws_sdk_sts::Client {
        let config = self
            .config
            .clone()
            .credentials_provider(creds.to_sdk())
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    /// An MFA-authenticated session for long-term keys, which then assumes roles without
    /// asking again.
    pub async fn get_session_token(
        &self,
        creds: &Credentials,
        serial: &str,
        code: &str,
        duration: u32,
        source_label: &str,
    ) -> Result<Credentials, Error> {
        let resp = self
            .client(creds)
            .get_session_token()
            .serial_number(serial)
            .token_code(code)
            .duration_seconds(duration as i32)
            .send()
            .await
            .map_err(|e| self.explain(e, "GetSessionToken", serial, Some(serial), source_label))?;
        self.credentials(resp.credentials(), "GetSessionToken", serial)
    }

    /// Credentials the console takes, for long-term IAM user keys (which it does not):
    /// GetFederationToken as federated user `name`, limited by `policy`. Returns them and the
    /// federated user's ARN.
    pub async fn get_federation_token(
        &self,
        creds: &Credentials,
        name: &str,
        duration: Option<u32>,
        policy: &str,
        source_label: &str,
    ) -> Result<(Credentials, Option<String>), Error> {
        let resp = self
            .client(creds)
            .get_federation_token()
            .name(name)
            .set_duration_seconds(duration.map(|d| d as i32))
            .policy(policy)
            .send()
            .await
            .map_err(|e| self.explain(e, "GetFederationToken", name, None, source_label))?;
        let federated = self.credentials(resp.credentials(), "GetFederationToken", name)?;
        let arn = resp.federated_user().map(|u| u.arn().to_string());
        Ok((federated, arn))
    }

    /// Who `creds` belong to: (account, ARN, user id).
    pub async fn caller_identity(
        &self,
        creds: &Credentials,
        source_label: &str,
    ) -> Result<(String, String, String), Error> {
        let resp = self
            .client(creds)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                self.explain(
                    e,
                    "GetCallerIdentity",
                    "the current credentials",
                    None,
                    source_label,
                )
            })?;
        Ok((
            resp.account().unwrap_or_default().to_string(),
            resp.arn().unwrap_or_default().to_string(),
            resp.user_id().unwrap_or_default().to_string(),
        ))
    }

    /// `source_label` names the credentials used, for messages: "of profile 'dev'". Returns
    /// the credentials and the assumed-role ARN.
    pub async fn assume_role(
        &self,
        creds: &Credentials,
        hop: &RoleCall,
        source_label: &str,
    ) -> Result<(Credentials, Option<String>), Error> {
        let client = self.client(creds);
        let o = &hop.options;
        let tags = o
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Usage(format!("invalid tag: {e}")))?;
        let policy_arns = o
            .policy_arns
            .iter()
            .map(|arn| PolicyDescriptorType::builder().arn(arn).build())
            .collect::<Vec<_>>();
        let resp = client
            .assume_role()
            .role_arn(&hop.role_arn)
            .role_session_name(hop.session_name())
            .set_duration_seconds(o.duration.map(|d| d as i32))
            .set_external_id(o.external_id.clone())
            .set_serial_number(o.mfa_serial.clone())
            .set_token_code(o.token_code.clone())
            .set_policy(o.policy.clone())
            .set_policy_arns((!policy_arns.is_empty()).then_some(policy_arns))
            .set_tags((!tags.is_empty()).then_some(tags))
            .set_source_identity(o.source_identity.clone())
            .send()
            .await
            .map_err(|e| {
                let serial = o.token_code.as_ref().and(o.mfa_serial.as_deref());
                self.explain(e, "AssumeRole", &hop.role_arn, serial, source_label)
            })?;
        let creds = self.credentials(resp.credentials(), "AssumeRole", &hop.role_arn)?;
        let arn = resp.assumed_role_user().map(|u| u.arn().to_string());
        Ok((creds, arn))
    }

    /// AssumeRoot: a short session as the root user of a member account, limited to one
    /// task. The Rust SDK calls the region's own endpoint (AssumeRoot has no global one).
    pub async fn assume_root(
        &self,
        creds: &Credentials,
        call: &RootCall,
        source_label: &str,
    ) -> Result<Credentials, Error> {
        let what = format!("account {} ({})", call.account, call.task_name());
        let resp = self
            .client(creds)
            .assume_root()
            .target_principal(&call.account)
            .task_policy_arn(PolicyDescriptorType::builder().arn(&call.task_arn).build())
            .duration_seconds(call.duration as i32)
            .send()
            .await
            .map_err(|e| self.explain(e, "AssumeRoot", &what, None, source_label))?;
        self.credentials(resp.credentials(), "AssumeRoot", &what)
    }

    /// AssumeRoleWithWebIdentity: unsigned, the token is the proof. Returns the credentials.
    pub async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session_name: &str,
        token: &str,
        source_label: &str,
    ) -> Result<Credentials, Error> {
        let client = aws_sdk_sts::Client::from_conf(self.config.clone().build());
        let resp = client
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .web_identity_token(token)
            .send()
            .await
            .map_err(|e| {
                self.explain(e, "AssumeRoleWithWebIdentity", role_arn, None, source_label)
            })?;
        self.credentials(resp.credentials(), "AssumeRoleWithWebIdentity", role_arn)
    }

    fn credentials(
        &self,
        c: Option<&aws_sdk_sts::types::Credentials>,
        action: &str,
        what: &str,
    ) -> Result<Credentials, Error> {
        let Some(c) = c else {
            return Err(Error::Sts(format!(
                "STS at {} answered {action} for {what} without credentials; check that the endpoint is a real STS",
                self.endpoint
            )));
        };
        Ok(Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: Some(c.session_token().to_string()),
            expires: Some(c.expiration().secs()),
        })
    }

    /// `what` is the role ARN (or MFA serial) the call was about; `mfa` the serial whose code
    /// was sent, if any.
    fn explain<E>(
        &self,
        err: SdkError<E, HttpResponse>,
        action: &str,
        what: &str,
        mfa: Option<&str>,
        source_label: &str,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let role = what;
        let endpoint = &self.endpoint;
        let said_by_network = match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                self.net.explain(&err, endpoint)
            }
            SdkError::ServiceError(service) => self
                .net
                .explain_status(service.raw().status().as_u16(), endpoint),
            _ => None,
        };
        if let Some(msg) = said_by_network {
            return Error::Network(msg);
        }
        let msg = match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("");
                let detail = one_line(e.message().unwrap_or(""));
                match code {
                    "AccessDenied" if mfa.is_some() && detail.contains("MultiFactorAuthentication") => format!(
                        "the MFA code for {} was rejected: wait for the next code and try again",
                        mfa.unwrap_or_default()
                    ),
                    "AccessDenied" if action == "GetSessionToken" => format!(
                        "access denied to GetSessionToken with MFA device {what}: check the serial and that your keys are an IAM user's ({detail})"
                    ),
                    "AccessDenied" if action == "AssumeRoot" => format!(
                        "access denied to AssumeRoot for {role} with the credentials {source_label}: the account must be a member of your organization with centralized root access enabled, and the credentials need sts:AssumeRoot for this task ({detail})"
                    ),
                    "AccessDenied" if action == "GetFederationToken" => format!(
                        "access denied to GetFederationToken for the keys {source_label}: the IAM user needs sts:GetFederationToken, and only long-term keys may call it ({detail})"
                    ),
                    "AccessDenied" => format!(
                        "access denied assuming {role}: check the role's trust policy and your sts:AssumeRole permission ({detail})"
                    ),
                    "ExpiredTokenException" | "InvalidIdentityToken" | "IDPRejectedClaim" | "IDPCommunicationError" if action == "AssumeRoleWithWebIdentity" => format!(
                        "STS refused the web identity token {source_label} for {role} ({code}): {detail}; check the token file and the role's trust policy"
                    ),
                    "ExpiredToken" | "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" => format!(
                        "the source credentials {source_label} are invalid or expired ({code}): refresh them (new keys, `aws sso login`) and try again"
                    ),
                    "RegionDisabledException" => format!(
                        "STS is not activated in region {}: activate it in the IAM console (account settings) or pass --region",
                        self.region
                    ),
                    "MalformedPolicyDocument" => format!(
                        "STS rejected the session policy or a policy ARN for {role}: {detail}"
                    ),
                    "PackedPolicyTooLarge" => format!(
                        "the session policy and tags for {role} are too large once packed: shorten --policy or pass fewer --tag/--policy-arn"
                    ),
                    "ValidationError" => format!("STS rejected a parameter of {action} for {role}: {detail}"),
                    "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => format!(
                        "STS at {endpoint} is throttling requests even after retries: wait a moment and try again"
                    ),
                    // A 2xx whose body didn't parse (a bad Expiration, say); the body itself
                    // is never quoted, as it may hold credentials.
                    "" if service.raw().status().is_success() => format!(
                        "STS at {endpoint} sent a {action} response stsenv could not read (HTTP {}); check that the endpoint is a real STS",
                        service.raw().status().as_u16()
                    ),
                    "" => {
                        let status = service.raw().status().as_u16();
                        match body_error(service.raw().body().bytes().unwrap_or_default()) {
                            Some(said) if status >= 500 => format!(
                                "STS at {endpoint} failed {action} for {role} with HTTP {status} ({said}), even after retries: a server error; try again later, and check the endpoint URL"
                            ),
                            Some(said) => format!(
                                "STS at {endpoint} refused {action} for {role} with HTTP {status}: {said}"
                            ),
                            None => format!(
                                "STS at {endpoint} answered {action} for {role} with HTTP {status} and no STS error: try again if it is a server error, and check the endpoint URL"
                            ),
                        }
                    }
                    _ => format!("STS refused {action} for {role}: {code}: {detail}"),
                }
            }
            SdkError::TimeoutError(_) => format!(
                "no answer from STS at {endpoint} within {} s: check the endpoint and your network, or raise --timeout",
                self.timeout.as_secs()
            ),
            SdkError::DispatchFailure(d) if d.is_timeout() => format!(
                "no answer from STS at {endpoint} within {} s: check the endpoint and your network, or raise --timeout",
                self.timeout.as_secs()
            ),
            SdkError::DispatchFailure(_) => format!(
                "could not reach STS at {endpoint}: {}; check the endpoint URL and your network",
                root_cause(&err)
            ),
            SdkError::ResponseError(_) => format!(
                "STS at {endpoint} sent a response stsenv could not read ({}); check that the endpoint is a real STS",
                root_cause(&err)
            ),
            _ => format!("{action} for {role} failed: {}", root_cause(&err)),
        };
        Error::Sts(msg)
    }
}

/// What an error body says when it is not the usual STS error document (another XML shape,
/// `<Response><Errors><Error><Code>…`, or plain text): its code and message, or its first
/// line. Only for error statuses, whose bodies hold no credentials.
pub fn body_error(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let element = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(one_line(&text[start..end]))
    };
    match (element("Code"), element("Message")) {
        (Some(code), Some(msg)) => Some(format!("{code}: {msg}")),
        (Some(code), None) => Some(code),
        (None, Some(msg)) => Some(msg),
        (None, None) if !text.trim_start().starts_with('<') => {
            let line = one_line(&text);
            (!line.is_empty()).then(|| line.chars().take(200).collect())
        }
        (None, None) => None,
    }
}

/// The innermost error: "Connection refused (os error 111)" rather than "dispatch failure".
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    one_line(&cur.to_string())
}

fn default_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://sts.{region}.{suffix}")
}
