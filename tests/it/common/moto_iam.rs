//! A second moto_server, for `stsenv keys rotate` and the AWS CLI on keyring keys: one with
//! IAM authentication on, so that a deleted or wrong key is refused as AWS refuses it (the
//! shared one in `moto.rs` accepts any key, which these tests can't use). Started once per
//! test binary: an admin user and key are made while auth is still off, then auth is turned
//! on for every later request. Each test makes IAM users of its own through the admin key,
//! with boto3 (as an administrator would), and looks at IAM the same way.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::moto::free_port;

pub struct MotoIam {
    pub url: String,
    admin: Mutex<Admin>,
    _keepalive: Mutex<(Child, ChildStdin)>,
}

static MOTO_IAM: OnceLock<MotoIam> = OnceLock::new();

pub fn moto_iam() -> &'static MotoIam {
    MOTO_IAM.get_or_init(start)
}

/// The administrator: one Python process for the whole test binary (a Python start costs
/// more than the calls), answering one JSON line per request on stdin with one on stdout.
/// `bootstrap` makes the admin user and key while auth is still off, then turns auth on.
const ADMIN: &str = r#"
import json, sys, urllib.request
import boto3, botocore
url = sys.argv[1]
admin = ["AKIAANYTHING0000000A", "anything"]
def client(svc, key=None):
    key = key or admin
    return boto3.client(svc, endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=botocore.config.Config(retries={"max_attempts": 1}))
def pair(k):
    return [k["AccessKeyId"], k["SecretAccessKey"]]
def answer(cmd, args):
    global admin
    if cmd == "bootstrap":
        iam = client("iam")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        admin = pair(iam.create_access_key(UserName="admin")["AccessKey"])
        # From now on every request must be signed by a key IAM knows.
        urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset-auth", data=b"0",
            method="POST", headers={"Content-Type": "text/plain"}))
        return admin
    if cmd == "user":
        name, actions = args
        iam = client("iam")
        iam.create_user(UserName=name)
        if actions:
            iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        return pair(iam.create_access_key(UserName=name)["AccessKey"])
    if cmd == "another-key":
        return pair(client("iam").create_access_key(UserName=args[0])["AccessKey"])
    if cmd == "state":
        # The user's access key ids, and who STS says each given key is.
        meta = client("iam").list_access_keys(UserName=args[0])["AccessKeyMetadata"]
        who = []
        for key in args[1]:
            try:
                who.append(client("sts", key).get_caller_identity()["Arn"])
            except botocore.exceptions.ClientError as e:
                who.append("refused: " + e.response["Error"]["Code"])
        return [sorted(m["AccessKeyId"] for m in meta), who]
for line in sys.stdin:
    cmd, args = json.loads(line)
    try:
        out = {"ok": answer(cmd, args)}
    except Exception as e:
        out = {"error": repr(e)}
    print(json.dumps(out), flush=True)
"#;

struct Admin {
    _child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl MotoIam {
    fn ask(&self, cmd: &str, args: serde_json::Value) -> serde_json::Value {
        let mut admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        ask(&mut admin, cmd, args)
    }
}

fn ask(admin: &mut Admin, cmd: &str, args: serde_json::Value) -> serde_json::Value {
    let line = serde_json::json!([cmd, args]).to_string();
    writeln!(admin.to, "{line}").expect("the boto3 administrator is gone");
    let mut answer = String::new();
    admin.from.read_line(&mut answer).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&answer)
        .unwrap_or_else(|_| panic!("boto3 {cmd}: no answer (scripts/test.sh installs boto3)"));
    match v.get_mut("ok") {
        Some(ok) => ok.take(),
        None => panic!("boto3 {cmd} {line}: {}", v["error"]),
    }
}

fn pair(v: serde_json::Value) -> (String, String) {
    let v: (String, String) = serde_json::from_value(v).unwrap();
    super::register_secret(&v.1);
    v
}

fn start() -> MotoIam {
    super::require("moto_server", "pip install 'moto[server]'");
    let port = free_port();
    let log = std::env::temp_dir().join(format!("stsenv-moto-iam-{port}.log"));
    // Auth must start off (for the admin), so INITIAL_NO_AUTH_ACTION_COUNT stays unset.
    let script = r#"unset INITIAL_NO_AUTH_ACTION_COUNT
moto_server -H 127.0.0.1 -p "$1" >"$2" 2>&1 & pid=$!
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
    // The administrator starts (imports boto3) while moto does.
    let mut python = Command::new("python3")
        .arg("-c")
        .arg(ADMIN)
        .arg(&url)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 missing ({e})"));
    let mut admin = Admin {
        to: python.stdin.take().unwrap(),
        from: BufReader::new(python.stdout.take().unwrap()),
        _child: python,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers(port) {
        if Instant::now() > deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("moto_server did not start on {url} within 60 s; its log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    pair(ask(&mut admin, "bootstrap", serde_json::json!([])));
    MotoIam {
        url,
        admin: Mutex::new(admin),
        _keepalive: Mutex::new((child, stdin)),
    }
}

fn answers(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut buf = [0u8; 12];
    s.write_all(req.as_bytes()).is_ok() && s.read_exact(&mut buf).is_ok()
}

impl MotoIam {
    /// A new IAM user allowed `actions` (on any resource: moto's auth knows no other), and
    /// its first access key (id, secret; the secret registered as one).
    pub fn user(&self, name: &str, actions: &[&str]) -> (String, String) {
        pair(self.ask("user", serde_json::json!([name, actions])))
    }

    /// One more access key for `user`, made by the admin.
    pub fn another_key(&self, user: &str) -> (String, String) {
        pair(self.ask("another-key", serde_json::json!([user])))
    }

    /// The access key ids IAM has for `user` (sorted), and who STS says each of `keys` is:
    /// its ARN, or `refused: CODE`.
    pub fn state(&self, user: &str, keys: &[&(String, String)]) -> (Vec<String>, Vec<String>) {
        serde_json::from_value(self.ask("state", serde_json::json!([user, keys]))).unwrap()
    }
}
