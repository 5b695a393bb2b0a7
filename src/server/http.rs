//! The HTTP side: a listener on 127.0.0.1, a thread per connection, the token check and the
//! container-credentials JSON. Knows nothing of how the credentials are got.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::holder::{Holder, Refused, Served};
use super::PATH;
use crate::time;
use crate::verbose;

/// A request line and headers beyond this are no SDK's.
const MAX_HEAD: usize = 16 << 10;
/// How long a client may take to send its whole request: an SDK on this machine sends it at
/// once, so a connection still silent after this is idle, or an attack, and is closed.
const HEAD_DEADLINE: Duration = Duration::from_secs(2);
/// How long a client may take to read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections waiting for their request at once. The port is visible to every local user:
/// past this, the connection that has waited longest without sending a request is closed to
/// make room, so that idle connections can never lock out the token holder.
const MAX_WAITING: usize = 256;
/// The expiry shown for credentials that never expire: SDKs then come back now and then.
const NO_EXPIRY_SHOWN_SECS: i64 = 3600;

/// Written by hand: one GET endpoint on loopback needs a request line and headers, and no
/// small, well-kept HTTP server crate is worth its size for that.
pub struct Server {
    addr: SocketAddr,
    listener: Arc<TcpListener>,
    stopping: Arc<AtomicBool>,
    acceptor: JoinHandle<()>,
}

impl Server {
    /// Listens on a free port of 127.0.0.1 and serves `holder`'s credentials to requests
    /// that carry `token`.
    pub fn start(holder: Arc<Holder>, token: String) -> std::io::Result<Server> {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0")?);
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (listener, stopping) = (listener.clone(), stopping.clone());
            let token: Arc<str> = token.into();
            let waiting = Arc::new(Waiting::default());
            std::thread::Builder::new()
                .name("stsenv-server".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stopping.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else {
                            // Out of file descriptors, say: make room, then go on.
                            waiting.evict_oldest();
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        };
                        let Some(ticket) = waiting.enter(&stream) else {
                            continue;
                        };
                        let (holder, token, waiting) =
                            (holder.clone(), token.clone(), waiting.clone());
                        let spawned = std::thread::Builder::new().spawn(move || {
                            serve(stream, &holder, &token, || waiting.leave(ticket));
                            waiting.leave(ticket);
                        });
                        if spawned.is_err() {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                })?
        };
        Ok(Server {
            addr,
            listener,
            stopping,
            acceptor,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and closes the port.
    pub fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: shutdown on a socket this struct owns. On Linux it refuses new
            // connections at once and wakes the blocked accept.
            unsafe {
                libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR);
            }
        }
        // Elsewhere (and in case), one connection wakes the accept loop to see `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        let _ = self.acceptor.join();
    }
}

/// The connections that have not sent their request yet, oldest first.
#[derive(Default)]
struct Waiting {
    next: AtomicUsize,
    list: Mutex<VecDeque<(usize, TcpStream)>>,
}

impl Waiting {
    /// Records a new connection (closing the longest-waiting one if there are too many);
    /// None if it can't be tracked, and then it is dropped unanswered.
    fn enter(&self, stream: &TcpStream) -> Option<usize> {
        let handle = stream.try_clone().ok()?;
        let ticket = self.next.fetch_add(1, Ordering::SeqCst);
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        while list.len() >= MAX_WAITING {
            if let Some((_, oldest)) = list.pop_front() {
                let _ = oldest.shutdown(Shutdown::Both);
            }
        }
        list.push_back((ticket, handle));
        Some(ticket)
    }

    /// The connection's request has come (or it is gone): it no longer waits.
    fn leave(&self, ticket: usize) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = list.iter().position(|(t, _)| *t == ticket) {
            list.remove(i);
        }
    }

    fn evict_oldest(&self) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, oldest)) = list.pop_front() {
            let _ = oldest.shutdown(Shutdown::Both);
        }
    }
}

/// A request, as far as this server cares.
struct Head {
    method: String,
    target: String,
    authorization: Vec<String>,
}

enum Bad {
    /// Closed or timed out before a whole request came: nobody to answer.
    Gone,
    TooLarge,
    Malformed,
}

/// `arrived` is called once the request has been read, before it is answered.
fn serve(mut stream: TcpStream, holder: &Holder, token: &str, arrived: impl FnOnce()) {
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let head = read_head(&mut stream);
    arrived();
    let (status, body, log) = match head {
        Ok(head) => respond(&head, holder, token),
        Err(Bad::Gone) => return,
        Err(Bad::TooLarge) => (
            431,
            error("RequestTooLarge", "the request head is too large"),
            "a request head over 16 KiB".to_string(),
        ),
        Err(Bad::Malformed) => (
            400,
            error("BadRequest", "not an HTTP/1.x request"),
            "a malformed request".to_string(),
        ),
    };
    verbose::say(|| format!("credential server: {log}: {status}"));
    let body = body.to_string();
    let allow = if status == 405 { "Allow: GET\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{allow}Connection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body.as_bytes()))
        .and_then(|_| stream.flush());
    let _ = stream.shutdown(Shutdown::Both);
}

/// The status, the JSON body, and how the request reads in the --verbose log.
fn respond(head: &Head, holder: &Holder, token: &str) -> (u16, Value, String) {
    let path = head.target.split('?').next().unwrap_or("");
    let log = format!("{} {path}", head.method);
    let authorized = match head.authorization.as_slice() {
        [given] => same(given.as_bytes(), token.as_bytes()),
        _ => false,
    };
    if !authorized {
        return (
            403,
            error("AccessDenied", "invalid or missing Authorization token"),
            log,
        );
    }
    if head.method != "GET" {
        return (405, error("MethodNotAllowed", "only GET is served"), log);
    }
    if path != PATH {
        return (
            404,
            error(
                "NotFound",
                "no such path: ask the URL in AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ),
            log,
        );
    }
    match holder.get() {
        Ok(served) => {
            let left = match served.left {
                Some(l) => format!("credentials with {} left", span(l)),
                None => "credentials that never expire".into(),
            };
            (200, credentials(&served), format!("{log}, {left}"))
        }
        Err(Refused { code, message }) => (500, error(code, &message), format!("{log}, {code}")),
    }
}

/// The container-credentials document. `Expiration` ends in `Z`: aws-config refuses offsets.
fn credentials(s: &Served) -> Value {
    let c = &s.credentials;
    let expires = c
        .expires
        .unwrap_or_else(|| time::now() + NO_EXPIRY_SHOWN_SECS);
    let mut doc = json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key,
        "Token": c.session_token.as_deref().unwrap_or_default(),
        "Expiration": time::rfc3339(expires),
    });
    if let Some(arn) = &s.role_arn {
        doc["RoleArn"] = json!(arn);
        if let Some(account) = arn.split(':').nth(4).filter(|a| !a.is_empty()) {
            doc["AccountId"] = json!(account);
        }
    }
    doc
}

fn error(code: &str, message: &str) -> Value {
    json!({ "Code": code, "Message": message })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

/// Reads up to the blank line that ends the headers, within `HEAD_DEADLINE` all told.
fn read_head(stream: &mut TcpStream) -> Result<Head, Bad> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(Bad::TooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(Bad::Gone);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(Bad::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if end > MAX_HEAD {
        return Err(Bad::TooLarge);
    }
    parse(&buf[..end])
}

fn parse(head: &[u8]) -> Result<Head, Bad> {
    let text = std::str::from_utf8(head).map_err(|_| Bad::Malformed)?;
    let mut lines = text.split("\r\n");
    let mut words = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(Bad::Malformed);
    };
    if method.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(Bad::Malformed);
    }
    let mut authorization = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(Bad::Malformed)?;
        if name.eq_ignore_ascii_case("authorization") {
            authorization.push(value.trim_matches([' ', '\t']).to_string());
        }
    }
    Ok(Head {
        method: method.to_string(),
        target: target.to_string(),
        authorization,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Equal or not in a time that depends on the length only (the token's is no secret), so
/// that timing a wrong guess tells nothing about the right one.
fn same(given: &[u8], token: &[u8]) -> bool {
    if given.len() != token.len() {
        return false;
    }
    let diff = given
        .iter()
        .zip(token)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

/// `14m50s`, `1h05m`, `expired`.
fn span(secs: i64) -> String {
    match secs {
        s if s <= 0 => "nothing (expired)".into(),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_whole_tokens_only() {
        assert!(same(b"abc123", b"abc123"));
        assert!(!same(b"abc124", b"abc123"));
        assert!(!same(b"abc12", b"abc123"));
        assert!(!same(b"", b"abc123"));
    }

    #[test]
    fn parses_the_request_line_and_every_authorization_header() {
        let h =
            parse(b"GET /p?x=1 HTTP/1.1\r\nHost: a\r\nauthorization:  tok \r\nAUTHORIZATION: t2")
                .ok()
                .unwrap();
        assert_eq!((h.method.as_str(), h.target.as_str()), ("GET", "/p?x=1"));
        assert_eq!(h.authorization, ["tok", "t2"]);
        for bad in [
            &b"GET /p"[..],
            b"GET /p HTTP/1.1 x",
            b"GET /p SPDY/3",
            b"GET /p HTTP/1.1\r\nno colon",
            b"GET /\xff HTTP/1.1",
        ] {
            assert!(matches!(parse(bad), Err(Bad::Malformed)), "{bad:?}");
        }
    }

    #[test]
    fn spans_read_like_the_prompt() {
        assert_eq!(span(890), "14m50s");
        assert_eq!(span(3900), "1h05m");
        assert_eq!(span(0), "nothing (expired)");
    }
}
