//! A fake IAM Identity Center on 127.0.0.1: SSO-OIDC (RegisterClient, StartDeviceAuthorization,
//! CreateToken for device codes and refresh tokens) and the SSO portal (GetRoleCredentials,
//! ListAccounts, ListAccountRoles, Logout), reached through AWS_ENDPOINT_URL_SSO_OIDC and
//! AWS_ENDPOINT_URL_SSO. A device is approved when the "browser" (a script named by
//! $BROWSER) has opened its URL, or when the test says so.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::fake_http::{FakeHttp, HttpRequest, HttpResponse};

/// How CreateToken answers a device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// authorization_pending until approved, then a token.
    Approve,
    /// slow_down once, then as Approve.
    SlowDownOnce,
    /// expired_token.
    Expire,
    /// access_denied.
    Deny,
}

#[derive(Default)]
struct State {
    tokens_issued: usize,
    slowed: bool,
    /// The access tokens handed out; the last one is the valid one.
    access_tokens: Vec<String>,
    portal: Portal,
}

/// What the portal lists, and how it misbehaves.
#[derive(Default, Clone)]
pub struct Portal {
    /// (account id, account name, roles).
    pub accounts: Vec<(String, String, Vec<String>)>,
    /// Items per page (nextToken beyond): 0 means all at once.
    pub page: usize,
    /// Every n-th listing request answers 429 TooManyRequestsException (0: never).
    pub throttle_every: usize,
    /// An account whose roles can't be listed (403 AccessDeniedException).
    pub failing: Option<String>,
    pub requests: usize,
}

pub struct FakeSso {
    pub http: FakeHttp,
    pub url: String,
    /// What StartDeviceAuthorization answers instead of the usual, for hostile answers.
    pub device: Arc<Mutex<Option<serde_json::Value>>>,
    /// This many device-code polls answer authorization_pending first, approved or not.
    pub pending: Arc<AtomicUsize>,
    approved: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    pub outcome: Arc<Mutex<Outcome>>,
    pub registrations: Arc<AtomicUsize>,
}

pub const USER_CODE: &str = "WDJB-MJHT";
pub const ACCOUNT: &str = "111122223333";

impl FakeSso {
    /// `browser_log`: where the $BROWSER script records the URLs it opened.
    pub fn start(browser_log: PathBuf, outcome: Outcome) -> FakeSso {
        let approved: Arc<AtomicBool> = Arc::default();
        let state: Arc<Mutex<State>> = Arc::default();
        let outcome = Arc::new(Mutex::new(outcome));
        let registrations: Arc<AtomicUsize> = Arc::default();
        let device: Arc<Mutex<Option<serde_json::Value>>> = Arc::default();
        let pending: Arc<AtomicUsize> = Arc::default();
        let (a, st, oc, regs, dev, pend) = (
            approved.clone(),
            state.clone(),
            outcome.clone(),
            registrations.clone(),
            device.clone(),
            pending.clone(),
        );
        let http = FakeHttp::start(move |r, _| {
            if r.path() == "/device_authorization" {
                if let Some(doc) = dev.lock().unwrap().clone() {
                    return HttpResponse::json(200, &doc);
                }
            }
            if r.path() == "/token"
                && r.json()["grantType"] != "refresh_token"
                && pend
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                return error(
                    400,
                    "AuthorizationPendingException",
                    "authorization_pending",
                    "Authorization is still pending",
                );
            }
            handle(r, &a, &st, &oc, &regs, &browser_log)
        });
        let url = http.url.clone();
        FakeSso {
            http,
            url,
            device,
            pending,
            approved,
            state,
            outcome,
            registrations,
        }
    }

    /// The person approves the sign-in on another device.
    pub fn approve(&self) {
        self.approved.store(true, Ordering::SeqCst);
    }

    pub fn access_tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().access_tokens.clone()
    }

    pub fn requests(&self) -> Vec<HttpRequest> {
        self.http.requests()
    }

    /// Makes the portal list these accounts and roles.
    pub fn set_portal(&self, portal: Portal) {
        self.state.lock().unwrap().portal = portal;
    }

    /// A listing of `n` accounts named `account-<i>`, each with `roles` roles.
    pub fn accounts(n: usize, roles: &[&str]) -> Vec<(String, String, Vec<String>)> {
        (0..n)
            .map(|i| {
                (
                    format!("{:012}", 100_000_000_000u64 + i as u64),
                    format!("account-{i}"),
                    roles.iter().map(|r| r.to_string()).collect(),
                )
            })
            .collect()
    }

    pub fn to(&self, path: &str) -> Vec<HttpRequest> {
        self.http.to(path)
    }
}

fn error(status: u16, kind: &str, code: &str, description: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": code, "error_description": description}),
    )
    .header("x-amzn-ErrorType", kind)
}

fn handle(
    r: &HttpRequest,
    approved: &AtomicBool,
    state: &Mutex<State>,
    outcome: &Mutex<Outcome>,
    registrations: &AtomicUsize,
    browser_log: &PathBuf,
) -> HttpResponse {
    let now = stsenv::time::now();
    match (r.method.as_str(), r.path()) {
        ("POST", "/client/register") => {
            let n = registrations.fetch_add(1, Ordering::SeqCst);
            let secret = format!("client-secret-value-{n}");
            super::register_secret(&secret);
            HttpResponse::json(
                200,
                &json!({
                    "clientId": format!("client-id-{n}"),
                    "clientSecret": secret,
                    "clientIdIssuedAt": now,
                    "clientSecretExpiresAt": now + 90 * 86400,
                }),
            )
        }
        ("POST", "/device_authorization") => HttpResponse::json(
            200,
            &json!({
                "deviceCode": "device-code-value-0123",
                "userCode": USER_CODE,
                "verificationUri": "https://device.sso.us-east-1.amazonaws.com/",
                "verificationUriComplete": format!("https://device.sso.us-east-1.amazonaws.com/?user_code={USER_CODE}"),
                "expiresIn": 600,
                "interval": 1,
            }),
        ),
        ("POST", "/token") => {
            let body = r.json();
            let grant = body["grantType"].as_str().unwrap_or("");
            let mut st = state.lock().unwrap();
            if grant == "refresh_token" {
                if body["refreshToken"]
                    .as_str()
                    .is_none_or(|t| !t.starts_with("refresh-token-value"))
                {
                    return error(
                        400,
                        "InvalidGrantException",
                        "invalid_grant",
                        "bad refresh token",
                    );
                }
            } else {
                let browsed = std::fs::read_to_string(browser_log)
                    .unwrap_or_default()
                    .contains(USER_CODE);
                let oc = *outcome.lock().unwrap();
                match oc {
                    Outcome::Expire => {
                        return error(
                            400,
                            "ExpiredTokenException",
                            "expired_token",
                            "the device code expired",
                        )
                    }
                    Outcome::Deny => {
                        return error(
                            400,
                            "AccessDeniedException",
                            "access_denied",
                            "the user said no",
                        )
                    }
                    Outcome::SlowDownOnce if !st.slowed => {
                        st.slowed = true;
                        return error(400, "SlowDownException", "slow_down", "too fast");
                    }
                    _ => {}
                }
                if !(browsed || approved.load(Ordering::SeqCst)) {
                    return error(
                        400,
                        "AuthorizationPendingException",
                        "authorization_pending",
                        "Authorization is still pending",
                    );
                }
            }
            let n = st.tokens_issued;
            st.tokens_issued += 1;
            let access = format!("access-token-value-{n}");
            let refresh = format!("refresh-token-value-{n}");
            super::register_secret(&access);
            super::register_secret(&refresh);
            st.access_tokens.push(access.clone());
            HttpResponse::json(
                200,
                &json!({"accessToken": access, "tokenType": "Bearer", "expiresIn": 28800, "refreshToken": refresh}),
            )
        }
        ("GET", "/federation/credentials") => {
            let token = r.header("x-amz-sso_bearer_token").unwrap_or("").to_string();
            let valid = state.lock().unwrap().access_tokens.contains(&token)
                || token.starts_with("cli-written-token");
            if !valid {
                return HttpResponse::json(
                    401,
                    &json!({"message": "Session token not found or invalid"}),
                )
                .header("x-amzn-ErrorType", "UnauthorizedException");
            }
            let role = r.query("role_name").unwrap_or_default();
            let secret = format!("portal-secret-of-{role}-0123");
            let session = format!("portal-token-of-{role}-0123");
            super::register_secret(&secret);
            super::register_secret(&session);
            HttpResponse::json(
                200,
                &json!({"roleCredentials": {
                    "accessKeyId": format!("ASIAPORTAL{}", role.to_uppercase()),
                    "secretAccessKey": secret,
                    "sessionToken": session,
                    "expiration": (now + 3600) * 1000,
                }}),
            )
        }
        ("POST", "/logout") => HttpResponse::json(200, &json!({})),
        ("GET", "/assignment/accounts") | ("GET", "/assignment/roles") => {
            let token = r.header("x-amz-sso_bearer_token").unwrap_or("").to_string();
            let mut st = state.lock().unwrap();
            if !st.access_tokens.contains(&token) && !token.starts_with("cli-written-token") {
                return HttpResponse::json(
                    401,
                    &json!({"message": "Session token not found or invalid"}),
                )
                .header("x-amzn-ErrorType", "UnauthorizedException");
            }
            st.portal.requests += 1;
            let p = st.portal.clone();
            if p.throttle_every > 0 && p.requests.is_multiple_of(p.throttle_every) {
                return HttpResponse::json(429, &json!({"message": "Rate exceeded"}))
                    .header("x-amzn-ErrorType", "TooManyRequestsException");
            }
            let start: usize = r
                .query("next_token")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let page = |items: Vec<serde_json::Value>, key: &str| {
                let size = if p.page == 0 {
                    items.len().max(1)
                } else {
                    p.page
                };
                let end = (start + size).min(items.len());
                let mut doc = json!({ key: items[start.min(items.len())..end].to_vec() });
                if end < items.len() {
                    doc["nextToken"] = json!(end.to_string());
                }
                HttpResponse::json(200, &doc)
            };
            if r.path() == "/assignment/accounts" {
                let items = p
                    .accounts
                    .iter()
                    .map(|(id, name, _)| json!({"accountId": id, "accountName": name, "emailAddress": "x@example.com"}))
                    .collect();
                page(items, "accountList")
            } else {
                let account = r.query("account_id").unwrap_or_default();
                if p.failing.as_deref() == Some(account.as_str()) {
                    return HttpResponse::json(
                        403,
                        &json!({"message": "no access to this account"}),
                    )
                    .header("x-amzn-ErrorType", "ForbiddenException");
                }
                let Some((_, _, roles)) = p.accounts.iter().find(|(id, _, _)| *id == account)
                else {
                    return HttpResponse::json(404, &json!({"message": "no such account"}))
                        .header("x-amzn-ErrorType", "ResourceNotFoundException");
                };
                let items = roles
                    .iter()
                    .map(|role| json!({"roleName": role, "accountId": account}))
                    .collect();
                page(items, "roleList")
            }
        }
        _ => HttpResponse::text(404, "not found"),
    }
}
