//! The credentials served, got again through `engine::obtain` as they near their expiry: one
//! refresh at a time, one attempt per 10 seconds at most. Knows nothing of HTTP.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::cache::{Mode, EXPIRY_WINDOW_SECS};
use crate::context::Context;
use crate::engine::{self, Planned, Request};
use crate::error::{sanitize, say, Error};
use crate::session::{Credentials, Session};
use crate::time;

/// However often the command asks, STS sees at most one attempt per this long, and so at
/// most one call per hop; the test hook STSENV_REFRESH_GAP_MS (read once) shortens it.
fn min_gap() -> Duration {
    static GAP: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *GAP.get_or_init(|| {
        std::env::var("STSENV_REFRESH_GAP_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(10), Duration::from_millis)
    })
}
/// How long a request waits for a refresh in progress when there is nothing valid to give
/// meanwhile: below the SDKs' 2 s read timeout, so they see our answer, not their timeout.
const WAIT_FOR_REFRESH: Duration = Duration::from_millis(1500);

/// What a request gets: the credentials with their time left (None: they never expire).
pub struct Served {
    pub credentials: Credentials,
    pub role_arn: Option<String>,
    pub left: Option<i64>,
}

/// Why a request gets no credentials: a short code and one sentence, no secret.
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

struct State {
    session: Session,
    last_attempt: Instant,
    refreshing: bool,
    /// The last refresh's failure, until one succeeds.
    failure: Option<String>,
}

pub struct Holder {
    /// What a refresh asks for: the first request, minus what only served the first run.
    planned: Planned,
    state: Mutex<State>,
    refreshed: Condvar,
}

impl Holder {
    /// `session` was got for `request` just now.
    pub fn new(ctx: &Context, mut request: Request, session: Session) -> Result<Holder, Error> {
        // A one-time code can't serve twice: a new one comes from mfa_process or the prompt.
        request.role.token_code = None;
        // --refresh meant "not the cached ones" for the start; an entry refreshes are due for
        // is one the cache no longer hands out anyway.
        if request.cache == Mode::Refresh {
            request.cache = Mode::Use;
        }
        Ok(Holder {
            planned: engine::plan(ctx, request)?,
            state: Mutex::new(State {
                session,
                last_attempt: Instant::now(),
                refreshing: false,
                failure: None,
            }),
            refreshed: Condvar::new(),
        })
    }

    /// Credentials with more than 15 minutes left (the SDKs' refresh window, and the cache's),
    /// got anew first if need be; else the held ones while they last.
    pub fn get(&self) -> Result<Served, Refused> {
        let mut st = self.lock();
        loop {
            let left = left(&st.session);
            if left.is_none_or(|l| l > EXPIRY_WINDOW_SECS) {
                return Ok(served(&st.session, left));
            }
            if !st.refreshing && st.last_attempt.elapsed() >= min_gap() {
                return answer(self.refresh(st));
            }
            if st.refreshing && !valid(left) {
                let (guard, wait) = self
                    .refreshed
                    .wait_timeout(st, WAIT_FOR_REFRESH)
                    .unwrap_or_else(|e| e.into_inner());
                st = guard;
                if wait.timed_out() && st.refreshing {
                    return Err(Refused {
                        code: "Refreshing",
                        message: "stsenv is getting new credentials (perhaps waiting for an MFA code); try again".into(),
                    });
                }
                continue;
            }
            return answer(st);
        }
    }

    /// Runs `engine::obtain` without holding the lock, so requests meanwhile get the held
    /// credentials.
    fn refresh<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.refreshing = true;
        st.last_attempt = Instant::now();
        drop(st);
        let result = self.planned.obtain();
        let mut st = self.lock();
        st.refreshing = false;
        match result {
            Ok(session) => {
                st.session = session;
                st.failure = None;
            }
            Err(e) => {
                // One line for the SDK to show, as for stderr.
                let message = sanitize(&e.to_string());
                // Once per failure, not once per attempt or request.
                if st.failure.as_deref() != Some(message.as_str()) {
                    say(&refresh_failed(&e, &st.session));
                }
                st.failure = Some(message);
            }
        }
        self.refreshed.notify_all();
        st
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn answer(st: MutexGuard<'_, State>) -> Result<Served, Refused> {
    let left = left(&st.session);
    if valid(left) {
        return Ok(served(&st.session, left));
    }
    Err(match &st.failure {
        Some(message) => Refused {
            code: "RefreshFailed",
            message: message.clone(),
        },
        None => Refused {
            code: "CredentialsExpired",
            message: format!(
                "the credentials expired and stsenv gets new ones within {} s; try again",
                min_gap().as_secs().max(1)
            ),
        },
    })
}

fn refresh_failed(e: &Error, held: &Session) -> String {
    let until = match held.credentials.expires {
        Some(t) if t > time::now() => format!("until they expire at {}", time::rfc3339(t)),
        _ => "but they have expired".into(),
    };
    format!(
        "cannot refresh the credentials of {}: {e} (the command keeps the old ones {until})",
        held.target
    )
}

fn left(session: &Session) -> Option<i64> {
    session.credentials.expires.map(|e| e - time::now())
}

fn valid(left: Option<i64>) -> bool {
    left.is_none_or(|l| l > 0)
}

fn served(session: &Session, left: Option<i64>) -> Served {
    Served {
        credentials: session.credentials.clone(),
        role_arn: session.role_arn.clone(),
        left,
    }
}
