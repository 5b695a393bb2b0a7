//! The parts of the OAuth 2.0 authorization-code grant with PKCE (RFC 7636) over a loopback
//! redirect (RFC 8252): the code verifier, its S256 challenge, the `state`, the `/authorize`
//! URL, and the listener on 127.0.0.1 the browser comes back to. Knows nothing of SSO-OIDC's
//! API or of what the person sees (that is the caller's, through [`Events`]).
//!
//! Hand-written on std, `sha2` and `getrandom`: no kept crate serves one loopback callback
//! without a web framework, and base64url of 32 bytes is 15 lines.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The path the browser comes back to.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The redirect URI given to RegisterClient: without a port, which the service then lets any
/// loopback port use (RFC 8252 §7.3). The AWS CLI registers exactly this.
pub const REGISTERED_REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";
/// The scope registered and asked for when `sso_registration_scopes` gives none.
pub const DEFAULT_SCOPE: &str = "sso:account:access";
/// How long the browser has to come back (the AWS CLI's `_OVERALL_TIMEOUT`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10 * 60);

/// The most of a request's head that is read; a callback URL is far shorter.
const MAX_HEAD: usize = 8 * 1024;
/// Connections served at once; more are closed unanswered (browsers open two or three).
const MAX_CONNECTIONS: usize = 16;
/// How long one connection may take to send its request, or to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the wait looks at the clock, the cancel flag and the UI.
const POLL: Duration = Duration::from_millis(100);

/// A value that must never be printed: Debug hides it, and only `expose` gives it out.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// `N` bytes from the operating system's random source (getrandom(2), /dev/urandom,
/// BCryptGenRandom, SecRandomCopyBytes).
fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| io::Error::other(format!("no random numbers from the system: {e}")))?;
    Ok(bytes)
}

/// Base64url without padding (RFC 4648 §5), as RFC 7636 wants for the challenge.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        // 1 byte gives 2 characters, 2 give 3, 3 give 4.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// A PKCE pair, new for every sign-in. Debug shows neither half.
pub struct Pkce {
    verifier: Secret,
    challenge: String,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkce(…)")
    }
}

impl Pkce {
    /// A verifier of 32 random bytes in base64url: 43 unreserved characters (RFC 7636 §4.1),
    /// 256 bits.
    pub fn new() -> io::Result<Pkce> {
        Ok(Pkce::from_verifier(base64url(&random::<32>()?)))
    }

    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = challenge_of(&verifier);
        Pkce {
            verifier: Secret(verifier),
            challenge,
        }
    }

    /// For CreateToken's `codeVerifier`, and nothing else.
    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }

    /// For the authorize URL's `code_challenge`.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// S256: BASE64URL(SHA256(ASCII(verifier))), no padding.
pub fn challenge_of(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// A `state` of 32 random bytes (256 bits; the AWS CLI's uuid4 has 122), new for every
/// sign-in.
pub fn new_state() -> io::Result<String> {
    Ok(base64url(&random::<32>()?))
}

/// Percent-encoding of everything but RFC 3986's unreserved characters (botocore's
/// `percent_encode`: `quote(s, safe='-._~')`), so a space is `%20`, never `+`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What goes into the authorize URL.
#[derive(Debug, Clone)]
pub struct Authorize<'a> {
    /// scheme://host[:port] of the SSO-OIDC endpoint the client resolves (FIPS, dual-stack,
    /// AWS_ENDPOINT_URL_SSO_OIDC included), e.g. `https://oidc.us-east-1.amazonaws.com`.
    pub base: &'a str,
    pub client_id: &'a str,
    /// The listener's, with its port.
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub challenge: &'a str,
    /// `sso_registration_scopes`; none or empty means `sso:account:access`.
    pub scopes: Option<&'a [String]>,
}

/// The `/authorize` URL, built (never requested), with the AWS CLI's parameters in its order:
/// response_type, client_id, redirect_uri, state, code_challenge_method, scopes (space-joined
/// before encoding), code_challenge. Nothing in it is a secret: the challenge is public by
/// design, and the verifier never leaves this process but in CreateToken.
pub fn authorize_url(a: &Authorize<'_>) -> String {
    let scopes = match a.scopes {
        Some(s) if !s.is_empty() => s.join(" "),
        _ => DEFAULT_SCOPE.to_string(),
    };
    format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&scopes={}&code_challenge={}",
        a.base.trim_end_matches('/'),
        percent_encode(a.client_id),
        percent_encode(a.redirect_uri),
        percent_encode(a.state),
        percent_encode(&scopes),
        percent_encode(a.challenge),
    )
}

/// A callback that was answered and did not end the wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `state` is not this sign-in's: an older tab, or someone else's redirect.
    WrongState,
    /// A code without a `state`.
    MissingState,
    /// /oauth/callback without a code or an error.
    NoCode,
    /// A parameter given twice, an empty code, a request that can't be read.
    BadRequest,
    /// A Host header other than 127.0.0.1:<port> (DNS rebinding) or none.
    WrongHost,
    /// A path other than /oauth/callback (a browser asks for /favicon.ico).
    NotFound,
    /// A method other than GET.
    NotGet,
}

impl Refused {
    /// Whether the person should hear of it (a favicon request is not worth a line).
    pub fn worth_saying(&self) -> bool {
        matches!(self, Refused::WrongState | Refused::MissingState)
    }
}

/// What the wait tells its caller while it lasts. All optional.
pub trait Events {
    /// About every 100 ms: a spinner can turn.
    fn tick(&self) {}
    /// A callback was refused; the wait goes on.
    fn refused(&self, _why: &Refused) {}
    /// Polled about every 100 ms: true ends the wait (e.g. a SIGINT handler set a flag).
    fn cancelled(&self) -> bool {
        false
    }
}

/// No events: for tests.
pub struct Quiet;
impl Events for Quiet {}

#[derive(Debug)]
pub enum WaitError {
    /// The browser came back with `error=` (e.g. access_denied); both are sanitized (printable
    /// ASCII, at most 200 characters).
    Denied {
        error: String,
        description: Option<String>,
    },
    /// Nothing valid came back in time.
    TimedOut(Duration),
    Cancelled,
    Io(io::Error),
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Denied { error, description } => {
                write!(f, "the sign-in was refused in the browser: {error}")?;
                if let Some(d) = description {
                    write!(f, " ({d})")?;
                }
                Ok(())
            }
            WaitError::TimedOut(d) => write!(
                f,
                "the browser did not come back within {} (nothing was approved)",
                human(*d)
            ),
            WaitError::Cancelled => f.write_str("the sign-in was cancelled"),
            WaitError::Io(e) => write!(f, "the sign-in listener on 127.0.0.1 failed: {e}"),
        }
    }
}

impl std::error::Error for WaitError {}

/// `10 minutes`, `90 s`: a wait as messages say it.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{} minute{}", s / 60, if s == 60 { "" } else { "s" })
    } else {
        format!("{s} s")
    }
}

/// The loopback listener: 127.0.0.1 only, on a port the OS picks, bound before the URL is
/// built and kept bound until the one valid callback (so a fast redirect can't beat it).
pub struct Listener {
    socket: TcpListener,
    port: u16,
}

impl Listener {
    pub fn bind() -> io::Result<Listener> {
        let socket = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let port = socket.local_addr()?.port();
        Ok(Listener { socket, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>/oauth/callback`: for the authorize URL and CreateToken.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits `within` for the browser to come back with a code and this sign-in's
    /// `state`. Refused callbacks (wrong state, other paths, ...) are answered and the wait
    /// goes on; `error=` ends it. The listening socket is closed when this returns, whatever
    /// it returns: one valid callback, then nothing more is accepted.
    pub fn wait(
        self,
        state: &str,
        within: Duration,
        events: &dyn Events,
    ) -> Result<Callback, WaitError> {
        let deadline = Instant::now() + within;
        self.socket.set_nonblocking(true).map_err(WaitError::Io)?;
        let (tx, rx) = mpsc::channel::<Seen>();
        let live = Arc::new(AtomicUsize::new(0));
        let expected: Arc<str> = Arc::from(state);
        let host = format!("127.0.0.1:{}", self.port);
        loop {
            if events.cancelled() {
                return Err(WaitError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(WaitError::TimedOut(within));
            }
            loop {
                match self.socket.accept() {
                    Ok((stream, peer)) => {
                        // Bound to 127.0.0.1, so nothing else can connect; checked anyway.
                        if !peer.ip().is_loopback()
                            || live.load(Ordering::SeqCst) >= MAX_CONNECTIONS
                        {
                            continue;
                        }
                        live.fetch_add(1, Ordering::SeqCst);
                        let (tx, live, expected, host) =
                            (tx.clone(), live.clone(), expected.clone(), host.clone());
                        std::thread::spawn(move || {
                            if let Some(seen) = serve(stream, &expected, &host) {
                                let _ = tx.send(seen);
                            }
                            live.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // A connection that went away before it was accepted, or a momentary
                    // lack of descriptors (EMFILE, ENOBUFS): none of them ends the wait, which
                    // is bounded anyway; try again at the next poll.
                    Err(_) => break,
                }
            }
            match rx.recv_timeout(POLL) {
                Ok(Seen::Code { code, stream }) => {
                    drop(self.socket);
                    return Ok(Callback {
                        code,
                        reply: Some(stream),
                    });
                }
                Ok(Seen::Denied {
                    error,
                    description,
                    stream,
                }) => {
                    drop(self.socket);
                    respond(stream, 200, &page_denied(&error));
                    return Err(WaitError::Denied { error, description });
                }
                Ok(Seen::Refused(why)) => events.refused(&why),
                Err(_) => {}
            }
            events.tick();
        }
    }
}

/// The valid callback: the code, and the browser's connection, held open so the tab can say
/// how the sign-in ended once CreateToken has answered.
pub struct Callback {
    code: Secret,
    reply: Option<TcpStream>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Callback(…)")
    }
}

/// How the sign-in ended, for the browser tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    SignedIn,
    Failed,
}

impl Callback {
    /// For CreateToken's `code`, and nothing else.
    pub fn code(&self) -> &Secret {
        &self.code
    }

    /// Shows the tab the ending. Dropping the callback without it shows "failed".
    pub fn finish(mut self, ending: Ending) {
        if let Some(stream) = self.reply.take() {
            let page = match ending {
                Ending::SignedIn => page_signed_in(),
                Ending::Failed => page_failed(),
            };
            respond(stream, 200, &page);
        }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        if let Some(stream) = self.reply.take() {
            respond(stream, 200, &page_failed());
        }
    }
}

/// What a connection came to, for the waiting loop.
enum Seen {
    Code {
        code: Secret,
        stream: TcpStream,
    },
    Denied {
        error: String,
        description: Option<String>,
        stream: TcpStream,
    },
    /// Answered already.
    Refused(Refused),
}

/// Reads one request, answers what doesn't end the wait, hands on what does.
fn serve(mut stream: TcpStream, state: &str, host: &str) -> Option<Seen> {
    // On macOS and the BSDs an accepted socket inherits the listener's O_NONBLOCK.
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
    let Some(head) = read_head(&mut stream) else {
        // Nothing came (a browser's spare connection), or too much.
        return None;
    };
    let refuse = |stream: TcpStream, why: Refused| {
        let (status, page) = match why {
            Refused::NotFound => (404, page_plain("Not found", "There is nothing here.")),
            Refused::NotGet => (405, page_plain("Not allowed", "Only GET is answered here.")),
            Refused::WrongState | Refused::MissingState => (400, page_wrong_state()),
            _ => (
                400,
                page_plain(
                    "Bad request",
                    "This is not a sign-in response stsenv can use.",
                ),
            ),
        };
        respond(stream, status, &page);
        Some(Seen::Refused(why))
    };
    let Some(req) = parse_head(&head) else {
        return refuse(stream, Refused::BadRequest);
    };
    if req.path != CALLBACK_PATH {
        return refuse(stream, Refused::NotFound);
    }
    if req.method != "GET" {
        return refuse(stream, Refused::NotGet);
    }
    if !req
        .host
        .as_deref()
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
    {
        return refuse(stream, Refused::WrongHost);
    }
    let Some(q) = Query::parse(req.query) else {
        return refuse(stream, Refused::BadRequest);
    };
    let state_ok = q
        .state
        .as_deref()
        .map(|s| same(s.as_bytes(), state.as_bytes()));
    if let Some(error) = q.error {
        // An error is taken only with this sign-in's state, or with none (a server that
        // leaves state out of its error redirects must still end the wait).
        if state_ok == Some(false) {
            return refuse(stream, Refused::WrongState);
        }
        return Some(Seen::Denied {
            error: sanitize(&error),
            description: q.error_description.map(|d| sanitize(&d)),
            stream,
        });
    }
    let Some(code) = q.code else {
        return refuse(stream, Refused::NoCode);
    };
    match state_ok {
        None => refuse(stream, Refused::MissingState),
        Some(false) => refuse(stream, Refused::WrongState),
        Some(true) if code.is_empty() => refuse(stream, Refused::BadRequest),
        Some(true) => Some(Seen::Code {
            code: Secret(code),
            stream,
        }),
    }
}

/// The request head (up to the blank line), or None if none came within the time or it is
/// too long.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&head, b"\r\n\r\n").or_else(|| find(&head, b"\n\n")) {
            head.truncate(end);
            return Some(head);
        }
        if head.len() > MAX_HEAD {
            return None;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Head<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    host: Option<String>,
}

fn parse_head(head: &[u8]) -> Option<Head<'_>> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.lines();
    let mut parts = lines.next()?.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // Fragments never reach a server; a '#' here is malformed.
    if query.contains('#') {
        return None;
    }
    let mut host = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("host") {
            if host.is_some() {
                return None;
            }
            host = Some(value.trim().to_string());
        }
    }
    Some(Head {
        method,
        path,
        query,
        host,
    })
}

#[derive(Default)]
struct Query {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Query {
    /// The parameters that matter, form-decoded; None when one of them is given twice or
    /// does not decode.
    fn parse(query: &str) -> Option<Query> {
        let mut q = Query::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match decode(k)?.as_str() {
                "code" => &mut q.code,
                "state" => &mut q.state,
                "error" => &mut q.error,
                "error_description" => &mut q.error_description,
                _ => continue,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(decode(v)?);
        }
        Some(q)
    }
}

/// application/x-www-form-urlencoded decoding ('+' is a space); None for bad escapes or
/// bytes that are not UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Printable ASCII only, at most 200 characters: the error and its description come from
/// whoever sent the request, and end up on the terminal and in the page.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(200)
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small page: no script, no link, nothing from the request but a sanitized error code.
fn page_plain(title: &str, text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stsenv: {t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}}</style>\
         </head><body><h1>{t}</h1><p>{x}</p></body></html>\n",
        t = html_escape(title),
        x = html_escape(text)
    )
}

fn page_signed_in() -> String {
    page_plain(
        "Signed in",
        "stsenv is signed in to IAM Identity Center. You can close this tab.",
    )
}

fn page_failed() -> String {
    page_plain(
        "Sign-in failed",
        "The sign-in did not complete; the terminal says why. You can close this tab.",
    )
}

fn page_denied(error: &str) -> String {
    page_plain(
        "Sign-in refused",
        &format!(
            "The sign-in was refused ({error}); the terminal says more. You can close this tab."
        ),
    )
}

fn page_wrong_state() -> String {
    page_plain(
        "Not this sign-in",
        "This answer is not for the sign-in stsenv is waiting for (an older tab?). Go back to the terminal; the sign-in there is still waiting.",
    )
}

fn respond(mut stream: TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\n\
         X-Content-Type-Options: nosniff\r\n\
         X-Frame-Options: DENY\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         {}\
         Connection: close\r\n\r\n",
        body.len(),
        if status == 405 { "Allow: GET\r\n" } else { "" },
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body.as_bytes()))
        .and_then(|_| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Let the browser read it all before the socket goes (a close with unread input would
    // reset the connection).
    let mut sink = [0u8; 256];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn base64url_is_rfc_4648_section_5_without_padding() {
        for (input, out) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(input.as_bytes()), out);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    fn unreserved(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    }

    #[test]
    fn verifier_and_state_are_new_every_time_and_unreserved() {
        let (a, b) = (Pkce::new().unwrap(), Pkce::new().unwrap());
        assert_ne!(a.verifier(), b.verifier());
        for p in [&a, &b] {
            let v = p.verifier().expose();
            assert!((43..=128).contains(&v.len()) && unreserved(v), "{v}");
            assert_eq!(p.challenge(), challenge_of(v));
            assert_eq!(p.challenge().len(), 43);
        }
        let (s, t) = (new_state().unwrap(), new_state().unwrap());
        assert_ne!(s, t);
        assert!(s.len() == 43 && unreserved(&s));
        assert_eq!(format!("{a:?}"), "Pkce(…)");
        assert!(!format!("{:?}", a.verifier()).contains(a.verifier().expose()));
    }

    #[test]
    fn authorize_url_is_the_aws_clis() {
        // The query as botocore's percent_encode_sequence writes it (python3, botocore
        // 1.43), then the challenge.
        let scopes = vec![
            "sso:account:access".to_string(),
            "codewhisperer:completions".into(),
        ];
        let url = authorize_url(&Authorize {
            base: "https://oidc.us-east-1.amazonaws.com",
            client_id: "abc/+=",
            redirect_uri: "http://127.0.0.1:5555/oauth/callback",
            state: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            scopes: Some(&scopes),
        });
        assert_eq!(
            url,
            "https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=abc%2F%2B%3D&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Foauth%2Fcallback&state=1b4e28ba-2fa1-11d2-883f-0016d3cca427&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess%20codewhisperer%3Acompletions&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let url = authorize_url(&Authorize {
            base: "http://127.0.0.1:9/",
            client_id: "id",
            redirect_uri: "r",
            state: "s",
            challenge: "c",
            scopes: Some(&[]),
        });
        assert!(url.starts_with("http://127.0.0.1:9/authorize?"));
        assert!(url.contains("&scopes=sso%3Aaccount%3Aaccess&"));
    }

    /// Sends raw `request` to the port; returns the status and the body.
    fn send(port: u16, request: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut r = io::BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut rest = String::new();
        let _ = r.read_to_string(&mut rest);
        let body = rest
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn get(port: u16, target: &str) -> (u16, String) {
        send(
            port,
            &format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: test\r\n\r\n"),
        )
    }

    struct Record(std::sync::Mutex<Vec<Refused>>, AtomicBool);
    impl Events for Record {
        fn refused(&self, why: &Refused) {
            self.0.lock().unwrap().push(why.clone());
        }
        fn cancelled(&self) -> bool {
            self.1.load(Ordering::SeqCst)
        }
    }

    fn soon(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn binds_127_0_0_1_on_a_port_the_os_picks() {
        let l = Listener::bind().unwrap();
        assert_ne!(l.port(), 0);
        assert_eq!(l.socket.local_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
        assert_eq!(
            l.redirect_uri(),
            format!("http://127.0.0.1:{}/oauth/callback", l.port())
        );
    }

    #[test]
    fn wrong_state_is_refused_and_the_right_one_then_completes() {
        let l = Listener::bind().unwrap();
        let port = l.port();
        let browser = std::thread::spawn(move || {
            let idle = TcpStream::connect(("127.0.0.1", port)).unwrap(); // a spare connection
            let a = get(port, "/favicon.ico");
            let b = get(port, "/oauth/callback?code=stolen-code-0123&state=not-it");
            let c = get(port, "/oauth/callback?code=the-code-0123");
            let d = get(port, "/oauth/callback?code=the-code-0123&state=s%2Dok");
            drop(idle);
            (a, b, c, d)
        });
        let events = Record(Default::default(), AtomicBool::new(false));
        let cb = l.wait("s-ok", soon(20), &events).unwrap();
        assert_eq!(cb.code().expose(), "the-code-0123");
        cb.finish(Ending::SignedIn);
        let (a, b, c, d) = browser.join().unwrap();
        assert_eq!(a.0, 404);
        assert_eq!(b.0, 400);
        assert!(b.1.contains("Not this sign-in") && !b.1.contains("stolen-code"));
        assert_eq!(c.0, 400);
        assert_eq!(d.0, 200);
        assert!(d.1.contains("Signed in") && d.1.contains("close this tab"));
        assert!(
            !d.1.contains("the-code-0123") && !d.1.contains("s-ok"),
            "no secret in the page"
        );
        let seen = events.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                Refused::NotFound,
                Refused::WrongState,
                Refused::MissingState
            ]
        );
        // One valid callback, then closed.
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn the_tab_says_failed_when_create_token_fails_or_the_callback_is_dropped() {
        for finish in [true, false] {
            let l = Listener::bind().unwrap();
            let port = l.port();
            let t = std::thread::spawn(move || get(port, "/oauth/callback?state=x&code=c"));
            let cb = l.wait("x", soon(20), &Quiet).unwrap();
            if finish {
                cb.finish(Ending::Failed);
            } else {
                drop(cb);
            }
            let (status, body) = t.join().unwrap();
            assert_eq!(status, 200);
            assert!(body.contains("Sign-in failed"), "{body}");
        }
    }

    #[test]
    fn access_denied_ends_the_wait_with_the_error() {
        let l = Listener::bind().unwrap();
        let port = l.port();
        let t = std::thread::spawn(move || {
            let wrong = get(port, "/oauth/callback?error=access_denied&state=other");
            let right = get(
                port,
                "/oauth/callback?error=access_denied&error_description=The+user+said+no%0A%1b[31m&state=st",
            );
            (wrong, right)
        });
        let err = l.wait("st", soon(20), &Quiet).unwrap_err();
        let (wrong, right) = t.join().unwrap();
        assert_eq!(
            wrong.0, 400,
            "an error with another sign-in's state is refused"
        );
        assert_eq!(right.0, 200);
        assert!(right.1.contains("refused (access_denied)"));
        match &err {
            WaitError::Denied { error, description } => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("The user said no[31m"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "the sign-in was refused in the browser: access_denied (The user said no[31m)"
        );
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn an_error_without_state_also_ends_it() {
        let l = Listener::bind().unwrap();
        let port = l.port();
        let t = std::thread::spawn(move || get(port, "/oauth/callback?error=access_denied"));
        assert!(matches!(
            l.wait("st", soon(20), &Quiet),
            Err(WaitError::Denied { .. })
        ));
        t.join().unwrap();
    }

    #[test]
    fn the_wait_is_bounded_and_then_the_port_is_closed() {
        let l = Listener::bind().unwrap();
        let port = l.port();
        let started = Instant::now();
        let err = l
            .wait("st", Duration::from_millis(300), &Quiet)
            .unwrap_err();
        assert!(matches!(err, WaitError::TimedOut(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        assert_eq!(
            WaitError::TimedOut(DEFAULT_WAIT).to_string(),
            "the browser did not come back within 10 minutes (nothing was approved)"
        );
    }

    #[test]
    fn a_cancel_ends_it() {
        let l = Listener::bind().unwrap();
        let events = Record(Default::default(), AtomicBool::new(true));
        assert!(matches!(
            l.wait("st", soon(20), &events),
            Err(WaitError::Cancelled)
        ));
    }

    #[test]
    fn odd_requests_are_refused_and_the_wait_goes_on() {
        let l = Listener::bind().unwrap();
        let port = l.port();
        let t = std::thread::spawn(move || {
            let host = send(
                port,
                "GET /oauth/callback?code=c&state=st HTTP/1.1\r\nHost: evil.example:80\r\n\r\n",
            );
            let nohost = send(port, "GET /oauth/callback?code=c&state=st HTTP/1.1\r\n\r\n");
            let post = send(
                port,
                &format!("POST /oauth/callback?code=c&state=st HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"),
            );
            let twice = get(port, "/oauth/callback?code=c&code=d&state=st");
            let slash = get(port, "/oauth/callback/?code=c&state=st");
            let empty = get(port, "/oauth/callback?code=&state=st");
            let garbage = send(port, "\x16\x03\x01 hello\r\n\r\n");
            let ok = get(port, "/oauth/callback?code=c&state=st");
            [host, nohost, post, twice, slash, empty, garbage, ok].map(|r| r.0)
        });
        let cb = l.wait("st", soon(20), &Quiet).unwrap();
        assert_eq!(cb.code().expose(), "c");
        cb.finish(Ending::SignedIn);
        assert_eq!(t.join().unwrap(), [400, 400, 405, 400, 404, 400, 400, 200]);
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse("state=a%2Bb+c&code=x%20y&other=1&other=2").unwrap();
        assert_eq!(q.state.as_deref(), Some("a+b c"));
        assert_eq!(q.code.as_deref(), Some("x y"));
        assert!(Query::parse("code=%zz").is_none());
        assert!(Query::parse("code=%ff").is_none());
        assert!(Query::parse("state=1&state=2").is_none());
    }
}
