//! A second moto_server, for `stsenv keys rotate` and the AWS CLI on keyring keys: one with
//! IAM authentication on, so that a deleted or wrong key is refused as AWS refuses it (the
//! shared one in `moto.rs` accepts any key, which these tests can't use). Started once per
//! test binary: an admin user and key are made while auth is still off, then auth is turned
//! on for every later request. Each test makes IAM users of its own through the admin key,
//! with boto3 (as an administrator would), and looks at IAM the same way.

use std::io::Read;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::moto::free_port;

pub struct MotoIam {
    pub url: String,
    admin: (String, String),
    _keepalive: Mutex<(Child, ChildStdin)>,
}

static MOTO_IAM: OnceLock<MotoIam> = OnceLock::new();

pub fn moto_iam() -> &'static MotoIam {
    MOTO_IAM.get_or_init(start)
}

/// What the tests ask of IAM and STS, with boto3, one process per question. Arguments: the
/// command, then its words; MOTO_URL, KEY_ID and KEY_SECRET in the environment.
const ADMIN: &str = r#"
import json, os, sys, urllib.request
import boto3, botocore
url = os.environ["MOTO_URL"]
def client(svc, key=None, secret=None):
    return boto3.client(svc, endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=key or os.environ["KEY_ID"], aws_secret_access_key=secret or os.environ["KEY_SECRET"],
        config=botocore.config.Config(retries={"max_attempts": 1}))
cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "bootstrap":
    iam = client("iam")
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName="admin")["AccessKey"]
    # From now on every request must be signed by a key IAM knows.
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset-auth", data=b"0",
        method="POST", headers={"Content-Type": "text/plain"}))
    print(json.dumps([k["AccessKeyId"], k["SecretAccessKey"]]))
elif cmd == "user":
    name, actions = args[0], args[1].split(",") if len(args) > 1 and args[1] else []
    iam = client("iam")
    iam.create_user(UserName=name)
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    print(json.dumps([k["AccessKeyId"], k["SecretAccessKey"]]))
elif cmd == "another-key":
    k = client("iam").create_access_key(UserName=args[0])["AccessKey"]
    print(json.dumps([k["AccessKeyId"], k["SecretAccessKey"]]))
elif cmd == "state":
    # The user's access key ids, and who STS says each given key is.
    meta = client("iam").list_access_keys(UserName=args[0])["AccessKeyMetadata"]
    who = []
    for key, secret in json.loads(os.environ["KEYS"]):
        try:
            who.append(client("sts", key, secret).get_caller_identity()["Arn"])
        except botocore.exceptions.ClientError as e:
            who.append("refused: " + e.response["Error"]["Code"])
    print(json.dumps([sorted(m["AccessKeyId"] for m in meta), who]))
"#;

fn python(url: &str, key: &(String, String), extra: &[(&str, &str)], args: &[&str]) -> String {
    let mut c = Command::new("python3");
    c.arg("-c")
        .arg(ADMIN)
        .args(args)
        .env("MOTO_URL", url)
        .env("KEY_ID", &key.0)
        .env("KEY_SECRET", &key.1)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    for (k, v) in extra {
        c.env(k, v);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("python3 missing ({e})"));
    assert!(
        out.status.success(),
        "boto3 {args:?}: {} (scripts/test.sh installs boto3)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pair(json: &str) -> (String, String) {
    let v: (String, String) = serde_json::from_str(json.trim()).unwrap();
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() || !answers(port) {
        if Instant::now() > deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("moto_server did not start on {url} within 60 s; its log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let anyone = ("AKIAANYTHING0000000A".to_string(), "anything".to_string());
    let admin = pair(&python(&url, &anyone, &[], &["bootstrap"]));
    MotoIam {
        url,
        admin,
        _keepalive: Mutex::new((child, stdin)),
    }
}

fn answers(port: u16) -> bool {
    use std::io::Write;
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
        pair(&python(
            &self.url,
            &self.admin,
            &[],
            &["user", name, &actions.join(",")],
        ))
    }

    /// One more access key for `user`, made by the admin.
    pub fn another_key(&self, user: &str) -> (String, String) {
        pair(&python(&self.url, &self.admin, &[], &["another-key", user]))
    }

    /// The access key ids IAM has for `user` (sorted), and who STS says each of `keys` is:
    /// its ARN, or `refused: CODE`. One process for both, as each costs a Python start.
    pub fn state(&self, user: &str, keys: &[&(String, String)]) -> (Vec<String>, Vec<String>) {
        let keys = serde_json::to_string(keys).unwrap();
        serde_json::from_str(&python(
            &self.url,
            &self.admin,
            &[("KEYS", &keys)],
            &["state", user],
        ))
        .unwrap()
    }
}
