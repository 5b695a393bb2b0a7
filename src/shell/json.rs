//! The `credential_process` format, so `credential_process = stsenv assume X --shell json`
//! works for the AWS CLI and SDKs.

use crate::error::Error;
use crate::session::Session;
use crate::time::rfc3339;

/// Fields in the order the AWS documentation shows them; strings escaped by serde_json.
pub fn render(session: &Session) -> Result<String, Error> {
    let c = &session.credentials;
    let s = |v: &str| serde_json::Value::from(v).to_string();
    let mut out = format!(
        "{{\"Version\":1,\"AccessKeyId\":{},\"SecretAccessKey\":{}",
        s(&c.access_key_id),
        s(&c.secret_access_key)
    );
    if let Some(token) = &c.session_token {
        out.push_str(&format!(",\"SessionToken\":{}", s(token)));
    }
    if let Some(exp) = c.expires {
        out.push_str(&format!(",\"Expiration\":{}", s(&rfc3339(exp))));
    }
    out.push_str("}\n");
    Ok(out)
}
