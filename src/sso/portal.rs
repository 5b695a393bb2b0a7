//! The SSO portal (the aws-sdk-sso API): the accounts and roles a token reaches, and signing a
//! token out. Knows nothing of profiles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};

use crate::error::chain;
use crate::net::Net;

/// Throttled listing requests are tried this many times, backing off between tries.
const ATTEMPTS: u32 = 6;
/// How many accounts' roles are asked for at once.
const IN_FLIGHT: usize = 8;

/// An SSO portal client in `region`, through stsenv's network (FIPS and dual-stack as it
/// says); AWS_ENDPOINT_URL_SSO (and the other endpoint settings) apply as in the AWS CLI.
/// Throttling is retried with backoff.
pub async fn client(net: &Net, region: &str) -> aws_sdk_sso::Client {
    let sdk = net
        .sdk_loader(region)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .load()
        .await;
    aws_sdk_sso::Client::new(&sdk)
}

/// Ends the portal session of `access_token`; Err is why it could not (the token is removed
/// from the cache either way, as `aws sso logout` does).
pub async fn logout(net: &Net, region: &str, access_token: &str) -> Result<(), String> {
    client(net, region)
        .await
        .logout()
        .access_token(access_token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| match e.raw_response() {
            Some(r) => format!("the portal answered HTTP {}", r.status().as_u16()),
            None => "the portal could not be reached".to_string(),
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
}

/// What the portal said when a listing failed: unauthorized (sign in again) or anything else.
#[derive(Debug, Clone)]
pub enum ListError {
    Unauthorized,
    Other(String),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListError::Unauthorized => write!(f, "the portal no longer accepts the token"),
            ListError::Other(s) => f.write_str(s),
        }
    }
}

fn list_error<E, R>(e: &SdkError<E, R>, net: &Net, region: &str) -> ListError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(s) if s.err().code() == Some("UnauthorizedException") => {
            ListError::Unauthorized
        }
        SdkError::ServiceError(s) => ListError::Other(format!(
            "{}{}",
            s.err().code().unwrap_or("an error"),
            s.err()
                .message()
                .map(|m| format!(": {}", crate::error::one_line(m)))
                .unwrap_or_default()
        )),
        other => ListError::Other(
            net.explain(other, &format!("https://portal.sso.{region}.amazonaws.com"))
                .unwrap_or_else(|| chain(other)),
        ),
    }
}

/// Every account the token reaches, following every page.
pub async fn accounts(
    client: &aws_sdk_sso::Client,
    net: &Net,
    region: &str,
    token: &str,
) -> Result<Vec<Account>, ListError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .list_accounts()
            .access_token(token)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| list_error(&e, net, region))?;
        out.extend(page.account_list().iter().filter_map(|a| {
            Some(Account {
                id: a.account_id()?.to_string(),
                name: a.account_name().unwrap_or_default().to_string(),
            })
        }));
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// The roles of one account, following every page.
pub async fn roles(
    client: &aws_sdk_sso::Client,
    net: &Net,
    region: &str,
    token: &str,
    account: &str,
) -> Result<Vec<String>, ListError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .list_account_roles()
            .access_token(token)
            .account_id(account)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| list_error(&e, net, region))?;
        out.extend(
            page.role_list()
                .iter()
                .filter_map(|r| r.role_name().map(String::from)),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// The roles of one account, or why they could not be listed.
pub type Roles = Result<Vec<String>, ListError>;

/// The roles of every account, several accounts at once; `progress` is told how many are
/// done. One result per account, in the order given.
pub async fn all_roles(
    client: &aws_sdk_sso::Client,
    net: &Net,
    region: &str,
    token: &str,
    accounts: &[Account],
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Roles> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Roles>>> = Mutex::new(vec![None; accounts.len()]);
    let worker = || async {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(account) = accounts.get(i) else {
                return;
            };
            let r = roles(client, net, region, token, &account.id).await;
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            progress(done.fetch_add(1, Ordering::SeqCst) + 1);
        }
    };
    let workers: Vec<_> = (0..IN_FLIGHT.min(accounts.len().max(1)))
        .map(|_| worker())
        .collect();
    join_all(workers).await;
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ListError::Other("not listed".into()))))
        .collect()
}

/// Runs the futures side by side on the current task until all are done (tokio's JoinSet
/// would need them 'static; these borrow).
async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in futures.iter_mut() {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_pending() {
                    pending = true;
                } else {
                    *slot = None;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}
