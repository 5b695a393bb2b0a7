//! Company-network parts for the tests, all on 127.0.0.1: a private CA and the certificates it
//! signs (good, expired, for another name), a TLS endpoint in front of a plain fake server,
//! and a forward proxy (CONNECT and absolute-URI requests, optional Basic auth) that maps
//! names like `sts.example.test` to local ports, so they resolve only through it.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

use super::fake_http::{read_request, HttpRequest};

/// A CA, its PEM on disk, and what it can sign.
pub struct Ca {
    key: KeyPair,
    cert: rcgen::Certificate,
    pub pem_path: PathBuf,
}

/// A server certificate and its key, DER.
pub struct Leaf {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

impl Ca {
    /// A new CA named `name`, its certificate written to `dir/<name>.pem`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem_path = dir.join(format!("{name}.pem"));
        std::fs::write(&pem_path, cert.pem()).unwrap();
        Ca {
            key,
            cert,
            pem_path,
        }
    }

    /// A certificate for `names`; `expired` makes one that ended a year ago.
    pub fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            cert: cert.der().to_vec(),
            key: key.serialize_der(),
        }
    }
}

/// TLS in front of a plain HTTP server on 127.0.0.1:`backend`: each request is relayed.
pub struct TlsFront {
    pub port: u16,
}

impl TlsFront {
    pub fn start(leaf: &Leaf, backend: u16) -> TlsFront {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.cert.clone().into()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(leaf.key.clone()).into(),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, stream));
                    while let Some(req) = read_request(&mut tls) {
                        let Some(resp) = relay(&req, &format!("127.0.0.1:{backend}")) else {
                            return;
                        };
                        if tls.get_mut().write_all(&resp).is_err() {
                            return;
                        }
                        let _ = tls.get_mut().flush();
                    }
                });
            }
        });
        TlsFront { port }
    }
}

/// Sends `req` to `addr` (origin-form) and returns the whole raw response.
fn relay(req: &HttpRequest, addr: &str) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(addr).ok()?;
    let target = match req.target.split_once("://") {
        Some((_, rest)) => format!("/{}", rest.split_once('/').map_or("", |(_, p)| p)),
        None => req.target.clone(),
    };
    let mut head = format!("{} {target} HTTP/1.1\r\n", req.method);
    for (k, v) in &req.headers {
        if k != "proxy-authorization" && k != "connection" {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(&req.body).ok()?;
    // The fakes keep connections open: read exactly one response (they all give a length).
    let mut reader = BufReader::new(s);
    let mut out = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line).ok()? == 0 {
            return None;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        out.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    out.extend_from_slice(&body);
    Some(out)
}

/// STS at its default address, as far as stsenv and the AWS CLI can tell: a fake STS behind
/// TLS with a certificate for AWS's STS host names from a CA of the test's, reached through a
/// forward proxy that resolves those names. For what must hold at the default endpoint only
/// (the cache file names shared with the AWS CLI), with no network beyond loopback.
pub struct DefaultEndpoint {
    pub proxy: Proxy,
    pub ca_path: PathBuf,
    _front: TlsFront,
    _dir: tempfile::TempDir,
}

impl DefaultEndpoint {
    /// In front of the plain server on 127.0.0.1:`backend`.
    pub fn start(backend: u16) -> DefaultEndpoint {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "aws-lookalike");
        let hosts = [
            "sts.amazonaws.com",
            "sts.us-east-1.amazonaws.com",
            "sts.eu-west-1.amazonaws.com",
        ];
        let front = TlsFront::start(&ca.leaf(&hosts, false), backend);
        let routes = hosts
            .iter()
            .map(|h| (format!("{h}:443"), front.port))
            .collect();
        DefaultEndpoint {
            proxy: Proxy::start(routes, None),
            ca_path: ca.pem_path.clone(),
            _front: front,
            _dir: dir,
        }
    }

    /// The variables that send `env`'s requests there: the proxy and the CA, and no
    /// endpoint setting of any kind.
    pub fn apply(&self, env: &mut super::TestEnv) {
        env.vars.retain(|(k, _)| !k.starts_with("AWS_ENDPOINT_URL"));
        env.set("HTTPS_PROXY", &self.proxy.url);
        env.set("AWS_CA_BUNDLE", self.ca_path.to_str().unwrap());
        env.set("AWS_REGION", "us-east-1");
    }
}

/// One request the proxy was asked for.
#[derive(Debug, Clone)]
pub struct ProxyLog {
    pub method: String,
    pub target: String,
    pub authorization: Option<String>,
}

/// A forward proxy: CONNECT for https, absolute-URI requests for http.
pub struct Proxy {
    pub port: u16,
    pub url: String,
    log: Arc<Mutex<Vec<ProxyLog>>>,
}

impl Proxy {
    /// `routes` maps `host:port` as asked for to a local port; `auth` is the `user:password`
    /// required (407 otherwise).
    pub fn start(routes: HashMap<String, u16>, auth: Option<&str>) -> Proxy {
        use base64_free::encode;
        let want = auth.map(|a| format!("Basic {}", encode(a.as_bytes())));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<ProxyLog>>> = Arc::default();
        let recorded = log.clone();
        let routes = Arc::new(routes);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, recorded, want) = (routes.clone(), recorded.clone(), want.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut client = stream;
                    while let Some(req) = read_request(&mut reader) {
                        let authorization = req.header("proxy-authorization").map(String::from);
                        recorded.lock().unwrap().push(ProxyLog {
                            method: req.method.clone(),
                            target: req.target.clone(),
                            authorization: authorization.clone(),
                        });
                        if want.is_some() && authorization != want {
                            let _ = client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n");
                            continue;
                        }
                        let host = match req.method.as_str() {
                            "CONNECT" => req.target.clone(),
                            _ => authority(&req.target),
                        };
                        let Some(local) = routes.get(&host) else {
                            let _ = client.write_all(
                                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
                            );
                            continue;
                        };
                        let addr = format!("127.0.0.1:{local}");
                        if req.method == "CONNECT" {
                            let Ok(upstream) = TcpStream::connect(&addr) else {
                                return;
                            };
                            if client
                                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                                .is_err()
                            {
                                return;
                            }
                            pump(reader, client, upstream);
                            return;
                        }
                        match relay(&req, &addr) {
                            Some(resp) => {
                                if client.write_all(&resp).is_err() {
                                    return;
                                }
                            }
                            None => return,
                        }
                    }
                });
            }
        });
        Proxy {
            port,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    pub fn log(&self) -> Vec<ProxyLog> {
        self.log.lock().unwrap().clone()
    }
}

/// `host:port` of an absolute URI (port 80 when none is given).
fn authority(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or("");
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    }
}

/// Copies bytes both ways until either side closes. `reader` may hold bytes already read.
fn pump(reader: BufReader<TcpStream>, client: TcpStream, upstream: TcpStream) {
    let mut up_write = upstream.try_clone().unwrap();
    let mut up_read = upstream;
    let mut client_write = client;
    let buffered = reader.buffer().to_vec();
    let t = std::thread::spawn(move || {
        let _ = up_write.write_all(&buffered);
        let mut inner = reader.into_inner();
        let _ = std::io::copy(&mut inner, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Both);
    let _ = t.join();
}

/// A port on which nothing listens: a proxy that refuses every connection.
pub fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

mod base64_free {
    /// Standard base64, for a Basic authorization header.
    pub fn encode(bytes: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
