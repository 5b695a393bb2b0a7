//! A fake IAM Identity Center on 127.0.0.1: SSO-OIDC (RegisterClient, StartDeviceAuthorization,
//! the `/authorize` page of the authorization-code flow, CreateToken for device codes,
//! authorization codes and refresh tokens) and the SSO portal (GetRoleCredentials,
//! ListAccounts, ListAccountRoles, Logout), reached through AWS_ENDPOINT_URL_SSO_OIDC and
//! AWS_ENDPOINT_URL_SSO. A device is approved when the "browser" (a script named by
//! $BROWSER, `BROWSER_SCRIPT`) has opened its URL, or when the test says so; `/authorize`
//! checks the request as IAM Identity Center would and redirects the browser back to the
//! loopback listener with a code and the same state (or with error=access_denied).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;

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

/// How `/authorize` answers a request it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorize {
    /// The person clicks "Allow": back to the redirect URI with a code and the state.
    Approve,
    /// The person clicks "Deny": back with error=access_denied and the state.
    Deny,
}

/// What a client registered.
#[derive(Debug, Clone)]
pub struct Client {
    pub secret: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub issuer_url: Option<String>,
    pub scopes: Vec<String>,
}

/// An authorization code handed out, and what it was given for.
#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    used: bool,
}

#[derive(Default)]
struct State {
    tokens_issued: usize,
    slowed: bool,
    /// The access tokens handed out; the last one is the valid one.
    access_tokens: Vec<String>,
    portal: Portal,
    clients: HashMap<String, Client>,
    codes: HashMap<String, Code>,
    /// Why a request of the authorization-code flow was turned down.
    refusals: Vec<String>,
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
    pub authorize: Arc<Mutex<Authorize>>,
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
        let authorize = Arc::new(Mutex::new(Authorize::Approve));
        let (a, st, oc, regs, dev, pend, az) = (
            approved.clone(),
            state.clone(),
            outcome.clone(),
            registrations.clone(),
            device.clone(),
            pending.clone(),
            authorize.clone(),
        );
        let http = FakeHttp::start(move |r, _| {
            if r.path() == "/device_authorization" {
                if let Some(doc) = dev.lock().unwrap().clone() {
                    return HttpResponse::json(200, &doc);
                }
            }
            if r.path() == "/token"
                && r.json()["grantType"] == DEVICE_GRANT
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
            if let Some(answer) = code_flow(r, &st, &az) {
                return answer;
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
            authorize,
        }
    }

    /// Why requests of the authorization-code flow were turned down (empty when none was).
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    /// What client `id` registered.
    pub fn client(&self, id: &str) -> Option<Client> {
        self.state.lock().unwrap().clients.get(id).cloned()
    }

    /// A client registered earlier (by the AWS CLI, say), that this fake knows.
    pub fn add_client(&self, id: &str, client: Client) {
        super::register_secret(&client.secret);
        self.state
            .lock()
            .unwrap()
            .clients
            .insert(id.to_string(), client);
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

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The tests' "browser", for $BROWSER: it records the URL it is given (its only argument),
/// and an `/authorize` URL it opens as a browser would, following the redirect back to the
/// loopback listener with curl, in the background (an opener returns at once). The code
/// travels inside curl, never in anyone's argv.
///   BROWSER_LOG   where the URLs go, one a line; `<log>.page` gets the last page shown
///   BROWSER_MODE  follow (default) | wrong-state-first (a forged callback first) | ignore
pub const BROWSER_SCRIPT: &str = r#"#!/bin/sh
set -u
log=${BROWSER_LOG:-/dev/null}
printf '%s\n' "$*" >>"$log"
case $1 in */authorize\?*) ;; *) exit 0 ;; esac
[ "${BROWSER_MODE:-follow}" = ignore ] && exit 0
(
    if [ "${BROWSER_MODE:-follow}" = wrong-state-first ]; then
        # An older tab, or another page, comes back first with another state.
        redirect=$(printf '%s\n' "$1" | sed -n 's/.*[?&]redirect_uri=\([^&]*\).*/\1/p' |
            sed 's/%3A/:/g; s/%2F/\//g')
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
            "$redirect?code=forged-code-0123&state=forged-state")
        printf 'wrong-state %s\n' "$status" >>"$log"
    fi
    result=$(curl -sS -L --max-redirs 3 --max-time 60 -o "$log.page" \
        -w 'status %{http_code} redirects %{num_redirects}' "$1" 2>&1)
    printf 'page %s\n' "$result" >>"$log"
) </dev/null >/dev/null 2>&1 &
exit 0
"#;

/// botocore's percent-encoding: everything but the unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// RFC 8252 §7.3: a registered loopback URI without a port matches it with any port.
fn loopback_matches(registered: &str, used: &str) -> bool {
    let Some(rest) = used.strip_prefix("http://127.0.0.1:") else {
        return false;
    };
    let Some((port, path)) = rest.split_once('/') else {
        return false;
    };
    port.parse::<u16>().is_ok_and(|p| p != 0) && registered == format!("http://127.0.0.1/{path}")
}

/// S256, computed here with sha2 and base64, independently of stsenv's code.
fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A 400 the test can read back: what the browser or CreateToken did wrong.
fn refuse(st: &mut State, why: String) -> HttpResponse {
    st.refusals.push(why.clone());
    HttpResponse::text(400, &why)
}

/// `/authorize` and CreateToken's authorization_code grant; None for every other request.
fn code_flow(
    r: &HttpRequest,
    state: &Mutex<State>,
    authorize: &Mutex<Authorize>,
) -> Option<HttpResponse> {
    let mut st = state.lock().unwrap();
    match (r.method.as_str(), r.path()) {
        ("GET", "/authorize") => {
            let q = |k: &str| r.query(k).unwrap_or_default();
            let (client_id, redirect_uri, state_param) =
                (q("client_id"), q("redirect_uri"), q("state"));
            let Some(client) = st.clients.get(&client_id).cloned() else {
                return Some(refuse(
                    &mut st,
                    format!("/authorize: unknown client_id {client_id:?}"),
                ));
            };
            let challenge = q("code_challenge");
            let checks = [
                (q("response_type") == "code", "response_type is not code"),
                (
                    client.grant_types.iter().any(|g| g == "authorization_code"),
                    "the client was not registered for authorization_code",
                ),
                (
                    client
                        .redirect_uris
                        .iter()
                        .any(|u| loopback_matches(u, &redirect_uri)),
                    "redirect_uri is not the registered loopback URI with a port",
                ),
                (
                    q("code_challenge_method") == "S256",
                    "code_challenge_method is not S256",
                ),
                (!state_param.is_empty(), "no state"),
                (
                    challenge.len() == 43 && unreserved(&challenge),
                    "code_challenge is not 43 base64url characters",
                ),
                (
                    q("scopes")
                        .split(' ')
                        .all(|s| client.scopes.iter().any(|c| c == s)),
                    "scopes beyond the registration's",
                ),
            ];
            if let Some((_, why)) = checks.iter().find(|(ok, _)| !ok) {
                return Some(refuse(&mut st, format!("/authorize: {why}")));
            }
            let location = match *authorize.lock().unwrap() {
                Authorize::Approve => {
                    let code = format!("auth-code-value-{}", st.codes.len());
                    super::register_secret(&code);
                    st.codes.insert(
                        code.clone(),
                        Code {
                            client_id,
                            redirect_uri: redirect_uri.clone(),
                            challenge,
                            used: false,
                        },
                    );
                    format!(
                        "{redirect_uri}?code={}&state={}",
                        encode(&code),
                        encode(&state_param)
                    )
                }
                Authorize::Deny => format!(
                    "{redirect_uri}?error=access_denied&error_description={}&state={}",
                    encode("The user denied the request"),
                    encode(&state_param)
                ),
            };
            Some(HttpResponse {
                status: 302,
                headers: vec![("Location".into(), location)],
                body: Vec::new(),
            })
        }
        ("POST", "/token") if r.json()["grantType"] == "authorization_code" => {
            let body = r.json();
            let s = |k: &str| body[k].as_str().unwrap_or("").to_string();
            let verifier = s("codeVerifier");
            super::register_secret(&verifier);
            let Some(client) = st
                .clients
                .get(&s("clientId"))
                .filter(|c| c.secret == s("clientSecret"))
                .cloned()
            else {
                st.refusals
                    .push("CreateToken: unknown client or wrong secret".into());
                return Some(error(
                    400,
                    "InvalidClientException",
                    "invalid_client",
                    "unknown client",
                ));
            };
            if !client.grant_types.iter().any(|g| g == "authorization_code") {
                return Some(error(
                    400,
                    "UnauthorizedClientException",
                    "unauthorized_client",
                    "not registered for authorization_code",
                ));
            }
            let code = s("code");
            let Some(grant) = st.codes.get(&code).cloned() else {
                st.refusals.push("CreateToken: unknown code".into());
                return Some(error(
                    400,
                    "InvalidGrantException",
                    "invalid_grant",
                    "unknown code",
                ));
            };
            let checks = [
                (!grant.used, "the code was used already"),
                (
                    grant.client_id == s("clientId"),
                    "the code is another client's",
                ),
                (
                    grant.redirect_uri == s("redirectUri"),
                    "redirectUri is not the one of /authorize",
                ),
                (
                    (43..=128).contains(&verifier.len()) && unreserved(&verifier),
                    "codeVerifier is not 43-128 unreserved characters",
                ),
                (
                    s256(&verifier) == grant.challenge,
                    "SHA-256 of codeVerifier is not the challenge",
                ),
            ];
            st.codes.get_mut(&code).unwrap().used = true;
            if let Some((_, why)) = checks.iter().find(|(ok, _)| !ok) {
                st.refusals.push(format!("CreateToken: {why}"));
                return Some(error(400, "InvalidGrantException", "invalid_grant", why));
            }
            let n = st.tokens_issued;
            st.tokens_issued += 1;
            let access = format!("access-token-value-{n}");
            let refresh = format!("refresh-token-value-{n}");
            super::register_secret(&access);
            super::register_secret(&refresh);
            st.access_tokens.push(access.clone());
            Some(HttpResponse::json(
                200,
                &json!({"accessToken": access, "tokenType": "Bearer", "expiresIn": 28800, "refreshToken": refresh}),
            ))
        }
        _ => None,
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
            let body = r.json();
            let list = |k: &str| -> Vec<String> {
                body[k]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            state.lock().unwrap().clients.insert(
                format!("client-id-{n}"),
                Client {
                    secret: secret.clone(),
                    grant_types: list("grantTypes"),
                    redirect_uris: list("redirectUris"),
                    issuer_url: body["issuerUrl"].as_str().map(String::from),
                    scopes: list("scopes"),
                },
            );
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
