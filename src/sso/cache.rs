//! The SSO token cache, exactly where and as the AWS CLI v2 keeps it, so that each reads what
//! the other wrote: `~/.aws/sso/cache/<sha1 of the session name, or of the start URL>.json`,
//! and the client registration beside it. Files 0600, written atomically.

use std::path::PathBuf;

use serde_json::Value;

use super::SsoConfig;
use crate::cache::key::{python_dumps, sha1_hex};
use crate::env::Env;
use crate::fsutil::{read_private_json, write_atomic};
use crate::time;

/// No token file of the AWS CLI's is anywhere near this large.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The AWS CLI and botocore refresh a token (and reuse a registration) only while more than
/// this is left.
pub const WINDOW_SECS: i64 = 15 * 60;

/// A cached SSO access token. Debug is written by hand so no token or secret is printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub access_token: String,
    pub expires_at: i64,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub registration_expires_at: Option<i64>,
    pub region: Option<String>,
    pub start_url: Option<String>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .field("refreshable", &self.refreshable())
            .finish()
    }
}

impl Token {
    /// Seconds until it expires (negative once it has).
    pub fn left(&self) -> i64 {
        self.expires_at - time::now()
    }

    /// Whether it can be refreshed without a new sign-in, as botocore decides it.
    pub fn refreshable(&self) -> bool {
        self.refresh_token.is_some()
            && self.client_id.is_some()
            && self.client_secret.is_some()
            && self
                .registration_expires_at
                .is_some_and(|t| t > time::now())
    }
}

/// The flow a client registration is for. botocore tells them apart by `grantTypes`: a
/// registration for the authorization code lists `authorization_code`, one for the device
/// code lists none; each flow reuses only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    DeviceCode,
    AuthorizationCode,
}

impl Grant {
    /// The grant types RegisterClient asks for (the AWS CLI's `_AUTH_GRANT_TYPES`); none for
    /// the device code, whose registration names none.
    pub fn grant_types(self) -> Option<Vec<String>> {
        match self {
            Grant::DeviceCode => None,
            Grant::AuthorizationCode => Some(vec![
                "authorization_code".to_string(),
                "refresh_token".to_string(),
            ]),
        }
    }
}

/// A client registration (RegisterClient), reused until shortly before it expires.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: String,
    pub expires_at: i64,
    /// The scopes registered: what the file's `scopes` says.
    pub scopes: Option<Vec<String>>,
    pub grant: Grant,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("grant", &self.grant)
            .finish()
    }
}

/// `~/.aws/sso/cache`, the AWS CLI v2's folder of SSO tokens and client registrations.
pub struct TokenCache {
    dir: PathBuf,
}

fn read_json(path: &std::path::Path) -> Option<Value> {
    read_private_json(path, MAX_FILE_BYTES)
}

fn token_name(cfg: &SsoConfig) -> String {
    let key = cfg.session.as_deref().unwrap_or(&cfg.start_url);
    format!("{}.json", sha1_hex(key))
}

/// botocore's key over what it registers for.
fn registration_name(cfg: &SsoConfig) -> String {
    let args = serde_json::json!({
        "tool": "botocore",
        "startUrl": cfg.start_url,
        "region": cfg.region,
        "scopes": cfg.scopes,
        "session_name": cfg.session,
    });
    format!("{}.json", sha1_hex(&python_dumps(&args)))
}

/// A key of a cache document, matched without regard to case as aws-config reads them.
fn field<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text(doc: &Value, key: &str) -> Option<String> {
    field(doc, key)?
        .as_str()
        .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
        .map(String::from)
}

fn stamp(doc: &Value, key: &str) -> Option<i64> {
    time::parse(field(doc, key)?.as_str()?)
}

fn parse_token(doc: &Value) -> Option<Token> {
    Some(Token {
        access_token: text(doc, "accessToken")?,
        expires_at: stamp(doc, "expiresAt")?,
        refresh_token: text(doc, "refreshToken"),
        client_id: text(doc, "clientId"),
        client_secret: text(doc, "clientSecret"),
        registration_expires_at: stamp(doc, "registrationExpiresAt"),
        region: text(doc, "region"),
        start_url: text(doc, "startUrl"),
    })
}

impl TokenCache {
    /// This user's cache; None without a HOME.
    pub fn open(env: &Env) -> Option<TokenCache> {
        Some(TokenCache {
            dir: env.home()?.join(".aws").join("sso").join("cache"),
        })
    }

    /// The token file of `cfg`.
    pub fn token_path(&self, cfg: &SsoConfig) -> PathBuf {
        self.dir.join(token_name(cfg))
    }

    fn registration_path(&self, cfg: &SsoConfig) -> PathBuf {
        self.dir.join(registration_name(cfg))
    }

    /// The cached token of `cfg`, if there is a readable one.
    pub fn read_token(&self, cfg: &SsoConfig) -> Option<Token> {
        parse_token(&read_json(&self.token_path(cfg))?)
    }

    /// Writes `token` where the AWS CLI v2 would, in its shape and key order.
    pub fn write_token(&self, cfg: &SsoConfig, token: &Token) -> std::io::Result<PathBuf> {
        let path = self.token_path(cfg);
        write_token_file(&path, cfg, token)?;
        Ok(path)
    }

    /// The cached registration of `cfg` for `grant`'s flow, if it has more than 15 minutes
    /// left (the same file serves both flows, as in the AWS CLI; one made for the other flow
    /// is not used).
    pub fn read_registration(&self, cfg: &SsoConfig, grant: Grant) -> Option<Registration> {
        let doc = read_json(&self.registration_path(cfg))?;
        let grants = field(&doc, "grantTypes").and_then(Value::as_array);
        let made_for = match grants.is_some_and(|g| g.iter().any(|v| v == "authorization_code")) {
            true => Grant::AuthorizationCode,
            false => Grant::DeviceCode,
        };
        if made_for != grant {
            return None;
        }
        let scopes = field(&doc, "scopes").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        });
        let r = Registration {
            client_id: text(&doc, "clientId")?,
            client_secret: text(&doc, "clientSecret")?,
            expires_at: stamp(&doc, "expiresAt")?,
            scopes,
            grant,
        };
        (r.expires_at - time::now() > WINDOW_SECS).then_some(r)
    }

    /// Writes `r` as the AWS CLI v2 writes a registration for its flow: clientId,
    /// clientSecret, expiresAt, then scopes (when any were registered) and grantTypes (for
    /// the authorization code).
    pub fn write_registration(&self, cfg: &SsoConfig, r: &Registration) -> std::io::Result<()> {
        let mut fields: Vec<(&str, Value)> = vec![
            ("clientId", r.client_id.clone().into()),
            ("clientSecret", r.client_secret.clone().into()),
            ("expiresAt", time::rfc3339(r.expires_at).into()),
        ];
        if let Some(scopes) = &r.scopes {
            fields.push(("scopes", scopes.clone().into()));
        }
        if let Some(grants) = r.grant.grant_types() {
            fields.push(("grantTypes", grants.into()));
        }
        write(&self.registration_path(cfg), &fields)
    }

    /// Removes the cached registration of `cfg` if it is still `client_id`'s: one IAM
    /// Identity Center no longer accepts, so the next sign-in registers anew.
    pub fn forget_registration(&self, cfg: &SsoConfig, client_id: &str) {
        let path = self.registration_path(cfg);
        if read_json(&path).is_some_and(|doc| text(&doc, "clientId").as_deref() == Some(client_id))
        {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Every cached token (the files with an accessToken), for logging out of all of them.
    pub fn all_tokens(&self) -> Vec<(PathBuf, Token)> {
        let Ok(list) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        list.flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| Some((p.clone(), parse_token(&read_json(&p)?)?)))
            .collect()
    }
}

fn write_token_file(path: &std::path::Path, cfg: &SsoConfig, token: &Token) -> std::io::Result<()> {
    let mut fields: Vec<(&str, Value)> = vec![
        ("startUrl", cfg.start_url.clone().into()),
        ("region", cfg.region.clone().into()),
        ("accessToken", token.access_token.clone().into()),
        ("expiresAt", time::rfc3339(token.expires_at).into()),
    ];
    if let (Some(id), Some(secret), Some(exp)) = (
        &token.client_id,
        &token.client_secret,
        token.registration_expires_at,
    ) {
        fields.push(("clientId", id.clone().into()));
        fields.push(("clientSecret", secret.clone().into()));
        fields.push(("registrationExpiresAt", time::rfc3339(exp).into()));
    }
    if let Some(r) = &token.refresh_token {
        fields.push(("refreshToken", r.clone().into()));
    }
    write(path, &fields)
}

/// JSON as Python's json.dumps writes it (", " and ": "), keys in the order given: the form
/// the AWS CLI writes.
fn write(path: &std::path::Path, fields: &[(&str, Value)]) -> std::io::Result<()> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {}", python_dumps(&Value::from(*k)), python_dumps(v)))
        .collect();
    let text = format!("{{{}}}", body.join(", "));
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (d, n.to_string_lossy().into_owned()),
        _ => return Err(std::io::Error::other("not a file path")),
    };
    write_atomic(dir, &name, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(session: Option<&str>, scopes: Option<&[&str]>) -> SsoConfig {
        SsoConfig {
            session: session.map(String::from),
            start_url: "https://d-123.awsapps.com/start".into(),
            region: "us-east-1".into(),
            scopes: scopes.map(|s| s.iter().map(|v| v.to_string()).collect()),
            use_device_code: Vec::new(),
        }
    }

    #[test]
    fn each_flow_reuses_only_its_own_registration() {
        let home = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("HOME", home.path().to_str().unwrap())]);
        let cache = TokenCache::open(&env).unwrap();
        let c = cfg(Some("corp"), None);
        let code = Registration {
            client_id: "id".into(),
            client_secret: "secret".into(),
            expires_at: time::now() + 86_400,
            scopes: Some(vec!["sso:account:access".into()]),
            grant: Grant::AuthorizationCode,
        };
        cache.write_registration(&c, &code).unwrap();
        let text = std::fs::read_to_string(cache.registration_path(&c)).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"clientId\": \"id\", \"clientSecret\": \"secret\", \"expiresAt\": \"{}\", \"scopes\": [\"sso:account:access\"], \"grantTypes\": [\"authorization_code\", \"refresh_token\"]}}",
                time::rfc3339(code.expires_at)
            ),
            "the AWS CLI v2's shape and key order"
        );
        assert_eq!(
            cache.read_registration(&c, Grant::AuthorizationCode),
            Some(code.clone())
        );
        assert_eq!(cache.read_registration(&c, Grant::DeviceCode), None);
        let device = Registration {
            scopes: None,
            grant: Grant::DeviceCode,
            ..code.clone()
        };
        cache.write_registration(&c, &device).unwrap();
        let text = std::fs::read_to_string(cache.registration_path(&c)).unwrap();
        assert!(
            !text.contains("scopes") && !text.contains("grantTypes"),
            "{text}"
        );
        assert_eq!(cache.read_registration(&c, Grant::DeviceCode), Some(device));
        assert_eq!(cache.read_registration(&c, Grant::AuthorizationCode), None);
        let ending = Registration {
            expires_at: time::now() + WINDOW_SECS - 60,
            ..code.clone()
        };
        cache.write_registration(&c, &ending).unwrap();
        assert_eq!(
            cache.read_registration(&c, Grant::AuthorizationCode),
            None,
            "15 minutes or less left"
        );
        cache.forget_registration(&c, "another-id");
        assert!(cache.registration_path(&c).exists());
        cache.forget_registration(&c, "id");
        assert!(!cache.registration_path(&c).exists());
    }

    // File names computed by the AWS CLI's own code (botocore 1.43, CPython 3.11).
    #[test]
    fn file_names_are_the_aws_clis() {
        assert_eq!(
            token_name(&cfg(Some("my-sso"), None)),
            "0ad374308c5a4e22f723adf10145eafad7c4031c.json"
        );
        assert_eq!(
            registration_name(&cfg(Some("my-sso"), Some(&["sso:account:access"]))),
            "41703fba9789c2c8f9b7faa73b70bebb72c62cc9.json"
        );
        assert_eq!(
            registration_name(&cfg(Some("my-sso"), None)),
            "4a61d5c0d0268ea975225ec49ec41d69c98d0633.json"
        );
        assert_eq!(
            registration_name(&cfg(None, None)),
            "334df8a025b4d748342a2fb4eaa316ea48c5576c.json"
        );
        let legacy = cfg(None, None);
        assert_eq!(
            token_name(&legacy),
            format!("{}.json", sha1_hex("https://d-123.awsapps.com/start"))
        );
    }
}
