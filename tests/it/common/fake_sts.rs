//! A small STS of our own on 127.0.0.1: it answers with chosen values (so output can be
//! compared byte for byte) or with a chosen fault, and records every request's parameters.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub params: HashMap<String, String>,
    pub authorization: String,
    /// The Host header: which endpoint the client meant.
    pub host: String,
}

impl Request {
    pub fn action(&self) -> &str {
        self.params.get("Action").map(String::as_str).unwrap_or("")
    }
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub enum Reply {
    Credentials {
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
        expiration: String,
    },
    /// An STS error document with this HTTP status.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// A raw status and body.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Accept, read the request, and never answer.
    Hang,
    /// Announce `claimed` bytes of body, send `body`, and close the connection.
    Truncated { body: String, claimed: usize },
    /// A 200 whose chunked body never ends (until the client goes away).
    Endless,
}

impl Reply {
    pub fn creds(akid: &str, secret: &str, token: &str) -> Reply {
        Reply::Credentials {
            access_key_id: akid.into(),
            secret_access_key: secret.into(),
            session_token: token.into(),
            // What STS grants by default: an hour.
            expiration: stsenv::time::rfc3339(stsenv::time::now() + 3600),
        }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::Error {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

pub struct FakeSts {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeSts {
    /// `handler` gets each request and how many came before it.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                let recorded = recorded.clone();
                std::thread::spawn(move || serve(stream, &*handler, &recorded));
            }
        });
        FakeSts { url, requests }
    }

    /// Numbered keys per action (AssumeRole0, GetSessionToken1, …), secrets and tokens
    /// (SECRET0, TOKEN0, …), with an expiry `ttl` seconds away.
    pub fn numbered(ttl: i64) -> FakeSts {
        FakeSts::start(move |r, n| Reply::Credentials {
            access_key_id: format!("{}{n}", r.action()),
            secret_access_key: format!("SECRET{n}"),
            session_token: format!("TOKEN{n}"),
            expiration: stsenv::time::rfc3339(stsenv::time::now() + ttl),
        })
    }

    /// Always the same reply.
    pub fn always(reply: Reply) -> FakeSts {
        FakeSts::start(move |_, _| reply.clone())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The recorded requests of one action.
    pub fn calls(&self, action: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.action() == action)
            .collect()
    }
}

fn serve(stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    while let Some(http) = super::fake_http::read_request(&mut reader) {
        let req = Request {
            params: super::fake_http::form(&http.body_text()),
            authorization: http.header("authorization").unwrap_or("").to_string(),
            host: http.header("host").unwrap_or("").to_string(),
        };
        let count = {
            let mut r = recorded.lock().unwrap();
            r.push(req.clone());
            r.len() - 1
        };
        let reply = if req.action() == "GetCallerIdentity" {
            caller_identity(&req)
        } else {
            handler(&req, count)
        };
        let (status, content_type, body) = match reply {
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            Reply::Endless => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
                let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, "A".repeat(1 << 16));
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                while stream.write_all(chunk.as_bytes()).is_ok() {}
                return;
            }
            Reply::Raw { status, content_type, body } => (status, content_type, body),
            Reply::Truncated { body, claimed } => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {claimed}\r\n\r\n");
                let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body.as_bytes()));
                return;
            }
            Reply::Error { status, code, message } => (
                status,
                "text/xml".into(),
                format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>fake</RequestId></ErrorResponse>",
                    xml(&code),
                    xml(&message)
                ),
            ),
            Reply::Credentials { access_key_id, secret_access_key, session_token, expiration } => {
                super::register_secret(&secret_access_key);
                super::register_secret(&session_token);
                let action = req.action().to_string();
                let role = req.param("RoleArn").unwrap_or("arn:aws:iam::123456789012:role/x");
                let session = req.param("RoleSessionName").unwrap_or("s");
                let user = if action == "AssumeRole" {
                    format!(
                        "<AssumedRoleUser><AssumedRoleId>AROAFAKE:{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>",
                        xml(session),
                        xml(&assumed_arn(role, session))
                    )
                } else if action == "GetFederationToken" {
                    let name = req.param("Name").unwrap_or("x");
                    format!(
                        "<FederatedUser><FederatedUserId>123456789012:{}</FederatedUserId><Arn>arn:aws:sts::123456789012:federated-user/{}</Arn></FederatedUser>",
                        xml(name),
                        xml(name)
                    )
                } else {
                    String::new()
                };
                (
                    200,
                    "text/xml".into(),
                    format!(
                        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>{user}</{action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></{action}Response>",
                        xml(&access_key_id),
                        xml(&secret_access_key),
                        xml(&session_token),
                        xml(&expiration)
                    ),
                )
            }
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: fake\r\n\r\n",
            body.len()
        );
        if stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

/// Who the caller is, from the access key that signed the request.
fn caller_identity(req: &Request) -> Reply {
    let key = req
        .authorization
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or("unknown");
    Reply::Raw {
        status: 200,
        content_type: "text/xml".into(),
        body: format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/key/{}</Arn><UserId>AROAFAKE:{}</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            xml(key),
            xml(key)
        ),
    }
}

fn assumed_arn(role: &str, session: &str) -> String {
    let account = role.split(':').nth(4).unwrap_or("123456789012");
    let name = role.rsplit('/').next().unwrap_or("x");
    format!("arn:aws:sts::{account}:assumed-role/{name}/{session}")
}

/// XML text escaping; line breaks and tabs as character references so no parser
/// normalizes them away.
pub fn xml(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}
