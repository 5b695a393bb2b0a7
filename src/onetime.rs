//! A one-time link on 127.0.0.1 that hands a browser a secret URL without the URL ever being in
//! a command line: the browser gets `http://127.0.0.1:<random port>/<64 hex digits>`, and the
//! first GET of exactly that path is answered with a redirect to the secret URL, after which
//! nothing listens there. Knows nothing of what the URL is for.
//!
//! Hand-written (std's TcpListener, one thread): no HTTP server crate is needed for one
//! request, and one that serves a request head only after reading it whole is all it takes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the link waits for the browser: a cold browser start takes seconds, not a minute.
pub const LIFETIME: Duration = Duration::from_secs(60);
/// Connections held open at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 16;
/// A request head longer than this is no browser's GET.
const MAX_HEAD: usize = 16 * 1024;
/// A connection that sends no whole request head in this long is closed.
const IDLE: Duration = Duration::from_secs(10);
/// How often the sockets are looked at: every socket is non-blocking, so an idle connection
/// (a browser's speculative preconnect) never holds up the request on another one.
const TICK: Duration = Duration::from_millis(10);

const WAITING: u8 = 0;
const SERVED: u8 = 1;
const EXPIRED: u8 = 2;
const CANCELLED: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A browser of this user's was redirected: the secret URL was handed out, once.
    Served,
    /// Nobody came within the lifetime: the secret URL was never handed out.
    Expired,
    /// Stopped before anyone came.
    Cancelled,
}

pub struct OneTime {
    url: String,
    state: Arc<AtomicU8>,
    thread: Option<JoinHandle<()>>,
}

impl OneTime {
    /// Listens on 127.0.0.1 (a port the system picks) for one GET of a random path of 256
    /// bits, to be answered with a redirect to `target`. `target` never appears in an error.
    pub fn start(target: &str, lifetime: Duration) -> io::Result<OneTime> {
        if target.is_empty() || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the URL to redirect to is not one header value",
            ));
        }
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| io::Error::other(e.to_string()))?;
        let path: String = std::iter::once("/".to_string())
            .chain(secret.iter().map(|b| format!("{b:02x}")))
            .collect();
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let url = format!("http://127.0.0.1:{port}{path}");
        let state = Arc::new(AtomicU8::new(WAITING));
        let target = target.to_string();
        let thread = {
            let state = state.clone();
            std::thread::Builder::new()
                .name("one-time-link".into())
                .spawn(move || serve(listener, &path, &target, lifetime, &state))?
        };
        Ok(OneTime {
            url,
            state,
            thread: Some(thread),
        })
    }

    /// The link to give the browser (it holds nothing of the target).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How it ended, if it has.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.state.load(Ordering::SeqCst) {
            SERVED => Some(Outcome::Served),
            EXPIRED => Some(Outcome::Expired),
            CANCELLED => Some(Outcome::Cancelled),
            _ => None,
        }
    }

    /// Whether the browser has been redirected.
    pub fn served(&self) -> bool {
        self.outcome() == Some(Outcome::Served)
    }

    /// Waits until it ends (its lifetime bounds the wait), and says how.
    pub fn wait(mut self) -> Outcome {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.outcome().unwrap_or(Outcome::Cancelled)
    }

    /// Stops waiting for the browser (nothing changes once it came) and says how it ended.
    pub fn cancel(self) -> Outcome {
        let _ = self
            .state
            .compare_exchange(WAITING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst);
        self.wait()
    }
}

impl Drop for OneTime {
    fn drop(&mut self) {
        let _ = self
            .state
            .compare_exchange(WAITING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    head: Vec<u8>,
    since: Instant,
}

enum Step {
    Waiting,
    Gone,
    Request { method: String, target: String },
}

fn serve(listener: TcpListener, path: &str, target: &str, lifetime: Duration, state: &AtomicU8) {
    let deadline = Instant::now() + lifetime;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut conns: Vec<Conn> = Vec::new();
    loop {
        if state.load(Ordering::SeqCst) != WAITING {
            return;
        }
        if Instant::now() >= deadline {
            let _ = state.compare_exchange(WAITING, EXPIRED, Ordering::SeqCst, Ordering::SeqCst);
            return;
        }
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    if conns.len() < MAX_CONNECTIONS && stream.set_nonblocking(true).is_ok() {
                        conns.push(Conn {
                            stream,
                            peer,
                            head: Vec::new(),
                            since: Instant::now(),
                        });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: nobody else waiting; anything else is that one connection's
                // trouble.
                Err(_) => break,
            }
        }
        let mut i = 0;
        while i < conns.len() {
            match step(&mut conns[i]) {
                Step::Waiting => i += 1,
                Step::Gone => {
                    conns.swap_remove(i);
                }
                Step::Request {
                    method,
                    target: asked,
                } => {
                    let conn = conns.swap_remove(i);
                    if method != "GET" || !same(asked.as_bytes(), path.as_bytes()) {
                        answer(conn.stream, "404 Not Found", None);
                    } else if !ours(port, conn.peer) {
                        answer(conn.stream, "403 Forbidden", None);
                    } else if state
                        .compare_exchange(WAITING, SERVED, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        // Closed first: a second request now finds nothing listening.
                        drop(listener);
                        drop(conns);
                        answer(conn.stream, "302 Found", Some(target));
                        return;
                    } else {
                        return;
                    }
                }
            }
        }
        std::thread::sleep(TICK);
    }
}

/// Reads what the connection has; a request once its head is whole.
fn step(c: &mut Conn) -> Step {
    let mut buf = [0u8; 2048];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => return Step::Gone,
            Ok(n) => {
                c.head.extend_from_slice(&buf[..n]);
                if c.head.len() > MAX_HEAD {
                    return Step::Gone;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Step::Gone,
        }
    }
    if let Some(end) = c.head.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&c.head[..end]);
        let mut words = head.lines().next().unwrap_or("").split(' ');
        let method = words.next().unwrap_or("").to_string();
        let target = words.next().unwrap_or("").to_string();
        return Step::Request { method, target };
    }
    if c.since.elapsed() >= IDLE {
        return Step::Gone;
    }
    Step::Waiting
}

/// Equal, in a time that doesn't tell how much of the secret path matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes the whole answer, then lets the client read it before the socket goes: closing with
/// unread bytes in the receive buffer sends a reset, which can lose the answer.
fn answer(mut stream: TcpStream, status: &str, location: Option<&str>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut head = format!("HTTP/1.1 {status}\r\n");
    if let Some(url) = location {
        head.push_str(&format!("Location: {url}\r\n"));
    }
    head.push_str(
        "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    if stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.flush())
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 1024];
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Whether the client end of a connection from `peer` to our `port` is this user's: the link
/// is in the browser's command line, which other local users can read, and one of them could
/// otherwise race the browser to it. The kernel's socket table says who owns each end; when
/// it can't be read at all (no /proc), nobody can be told apart and every client is served.
#[cfg(target_os = "linux")]
fn ours(port: u16, peer: SocketAddr) -> bool {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let tables: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    tables.is_empty()
        || tables
            .iter()
            .any(|t| socket_owner(t, peer.port(), port) == Some(me))
}

/// Elsewhere there is no cheap way to tell (macOS: libproc; Windows: GetExtendedTcpTable):
/// any local client is served.
#[cfg(not(target_os = "linux"))]
fn ours(_port: u16, _peer: SocketAddr) -> bool {
    true
}

/// The uid column of the row of a `/proc/net/tcp{,6}` table whose local end is
/// 127.0.0.1:`local_port` (or ::ffff:127.0.0.1) and whose remote port is `remote_port`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn socket_owner(table: &str, local_port: u16, remote_port: u16) -> Option<u32> {
    // The kernel prints each 32-bit word of an address as the hex of its bytes read in the
    // machine's order; ports in plain hex.
    let v4 = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
    let mapped = format!(
        "{:016X}{:08X}{v4}",
        0u64,
        u32::from_ne_bytes([0, 0, 0xff, 0xff])
    );
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, uid) = (cols.get(1)?, cols.get(2)?, cols.get(7)?);
        let (laddr, lport) = local.split_once(':')?;
        let (_, rport) = remote.split_once(':')?;
        let port_is = |hex: &str, p: u16| u16::from_str_radix(hex, 16).ok() == Some(p);
        let loopback = laddr.eq_ignore_ascii_case(&v4) || laddr.eq_ignore_ascii_case(&mapped);
        (loopback && port_is(lport, local_port) && port_is(rport, remote_port))
            .then(|| uid.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    /// One HTTP/1.1 request; the status line and the Location header, if any.
    fn request(method: &str, url: &str) -> io::Result<(String, Option<String>)> {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = TcpStream::connect(host)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut r = io::BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status)?;
        let mut location = None;
        for line in r.lines() {
            let line = line?;
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Location: ") {
                location = Some(v.to_string());
            }
        }
        Ok((status.trim_end().to_string(), location))
    }

    fn get(url: &str) -> io::Result<(String, Option<String>)> {
        request("GET", url)
    }

    const LOGIN: &str = "https://signin.aws.amazon.com/federation?Action=login&Issuer=stsenv&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=SECRET-TOKEN";

    fn wait_for(ot: &OneTime) -> Option<Outcome> {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Some(o) = ot.outcome() {
                return Some(o);
            }
            std::thread::sleep(TICK);
        }
        None
    }

    #[test]
    fn the_link_is_loopback_with_a_path_of_256_random_bits() {
        let a = OneTime::start(LOGIN, LIFETIME).unwrap();
        let b = OneTime::start(LOGIN, LIFETIME).unwrap();
        for u in [a.url(), b.url()] {
            let rest = u.strip_prefix("http://127.0.0.1:").unwrap();
            let (port, path) = rest.split_once('/').unwrap();
            assert!(port.parse::<u16>().unwrap() > 0);
            assert_eq!(path.len(), 64);
            assert!(path.bytes().all(|c| c.is_ascii_hexdigit()));
            assert!(!u.contains("SECRET"));
        }
        assert_ne!(a.url(), b.url());
    }

    #[test]
    fn one_get_is_redirected_without_a_body_and_then_nothing_listens() {
        let ot = OneTime::start(LOGIN, LIFETIME).unwrap();
        let rest = ot.url().strip_prefix("http://").unwrap().to_string();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = TcpStream::connect(host).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        let (head, body) = all.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 302 Found\r\n"), "{head}");
        assert!(
            head.contains(&format!("\r\nLocation: {LOGIN}\r\n")),
            "{head}"
        );
        assert_eq!(body, "");
        assert_eq!(head.matches("SECRET-TOKEN").count(), 1, "only in Location");
        for h in [
            "Cache-Control: no-store",
            "Referrer-Policy: no-referrer",
            "Content-Length: 0",
        ] {
            assert!(head.contains(h), "{h} missing: {head}");
        }
        assert_eq!(wait_for(&ot), Some(Outcome::Served));
        let again = get(ot.url());
        assert!(
            matches!(&again, Err(e) if e.kind() == io::ErrorKind::ConnectionRefused),
            "{again:?}"
        );
        assert_eq!(ot.wait(), Outcome::Served);
    }

    #[test]
    fn anything_else_gets_a_404_and_leaves_the_link_good() {
        let ot = OneTime::start(LOGIN, LIFETIME).unwrap();
        let base = ot.url().rsplit_once('/').unwrap().0.to_string();
        assert_eq!(
            get(&format!("{base}/favicon.ico")).unwrap(),
            ("HTTP/1.1 404 Not Found".to_string(), None)
        );
        // A near miss: the secret with its last digit changed.
        let mut near = ot.url().to_string();
        let last = near.pop().unwrap();
        near.push(if last == '0' { '1' } else { '0' });
        assert_eq!(get(&near).unwrap().0, "HTTP/1.1 404 Not Found");
        // Another method on the right path doesn't use it up.
        for method in ["HEAD", "POST"] {
            assert_eq!(
                request(method, ot.url()).unwrap().0,
                "HTTP/1.1 404 Not Found"
            );
        }
        assert_eq!(ot.outcome(), None, "still waiting");
        assert_eq!(get(ot.url()).unwrap().0, "HTTP/1.1 302 Found");
        assert_eq!(wait_for(&ot), Some(Outcome::Served));
    }

    #[test]
    fn an_idle_connection_does_not_hold_up_the_request() {
        let ot = OneTime::start(LOGIN, LIFETIME).unwrap();
        let host = ot.url()[7..].split('/').next().unwrap().to_string();
        // A preconnect that never sends anything, and a half-sent request.
        let _idle = TcpStream::connect(&host).unwrap();
        let mut half = TcpStream::connect(&host).unwrap();
        write!(half, "GET / HT").unwrap();
        let started = Instant::now();
        assert_eq!(get(ot.url()).unwrap().0, "HTTP/1.1 302 Found");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn nobody_coming_ends_it_after_its_lifetime_and_cancelling_ends_it_at_once() {
        let ot = OneTime::start(LOGIN, Duration::from_millis(100)).unwrap();
        let url = ot.url().to_string();
        assert_eq!(ot.wait(), Outcome::Expired);
        assert!(get(&url).is_err(), "closed after its lifetime");
        let ot = OneTime::start(LOGIN, LIFETIME).unwrap();
        let url = ot.url().to_string();
        let started = Instant::now();
        assert_eq!(ot.cancel(), Outcome::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(get(&url).is_err());
    }

    #[test]
    fn a_target_that_would_split_the_header_is_refused_without_being_named() {
        for bad in ["", "https://x/\r\nSet-Cookie: a=b", "https://x/ y"] {
            let e = OneTime::start(bad, LIFETIME).err().unwrap();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(!e.to_string().contains("x/"));
        }
    }

    #[test]
    fn the_owner_of_the_client_end_is_read_from_the_socket_table() {
        // Rows as /proc/net/tcp prints them: the listener, our accepted end, and the
        // browser's end 127.0.0.1:41234 -> 127.0.0.1:39001 of uid 1000.
        let lo = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
        let table = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: {lo}:9859 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n\
   1: {lo}:9859 {lo}:A0F2 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1\n\
   2: {lo}:A0F2 {lo}:9859 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 20 4 30 10 -1\n"
        );
        assert_eq!(socket_owner(&table, 0xA0F2, 0x9859), Some(1000));
        assert_eq!(socket_owner(&table, 0x9859, 0xA0F2), Some(0));
        assert_eq!(socket_owner(&table, 0xA0F3, 0x9859), None);
        let mapped = format!(
            "0000000000000000{:08X}{lo}",
            u32::from_ne_bytes([0, 0, 0xff, 0xff])
        );
        let table6 = format!(
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: {mapped}:A0F2 {mapped}:9859 01 00000000:00000000 00:00000000 00000000  1001        0 3 1\n"
        );
        assert_eq!(socket_owner(&table6, 0xA0F2, 0x9859), Some(1001));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_connection_of_this_user_is_found_as_ours() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(peer.port(), c.local_addr().unwrap().port());
        assert!(ours(port, peer));
        assert!(!ours(port.wrapping_add(1), peer));
    }
}
