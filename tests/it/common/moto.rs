//! One moto_server per test binary, on 127.0.0.1 and a free port. It is started through a
//! small sh wrapper that waits on a pipe from this process: when the test binary exits, for
//! any reason, the pipe closes and the wrapper stops moto.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct Moto {
    pub url: String,
    _keepalive: Mutex<(Child, ChildStdin)>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Moto {
    super::require("moto_server", "pip install 'moto[server]'");
    let port = free_port();
    let log = std::env::temp_dir().join(format!("stsenv-moto-{port}.log"));
    let script = r#"moto_server -H 127.0.0.1 -p "$1" >"$2" 2>&1 & pid=$!
trap 'kill $pid 2>/dev/null' EXIT
read _ || true"#;
    let mut child = Command::new("sh")
        .args(["-c", script, "sh", &port.to_string(), log.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sh for moto_server");
    let stdin = child.stdin.take().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(port) {
        if Instant::now() > deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("moto_server did not start on {url} within 60 s; its log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        url,
        _keepalive: Mutex::new((child, stdin)),
    }
}

fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.")
}

impl Moto {
    /// Creates an IAM role in moto with the aws CLI, as a user would.
    pub fn create_role(&self, env: &super::TestEnv, name: &str) {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
        let out = env
            .command("aws")
            .env("AWS_ACCESS_KEY_ID", super::BASE_KEY)
            .env("AWS_SECRET_ACCESS_KEY", super::BASE_SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args([
                "--endpoint-url",
                &self.url,
                "iam",
                "create-role",
                "--role-name",
                name,
            ])
            .args(["--assume-role-policy-document", policy])
            .output()
            .unwrap_or_else(|e| panic!("aws CLI missing ({e}): pip install awscli"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("EntityAlreadyExists"),
            "create-role: {err}"
        );
    }
}
