//! Cache keys exactly as botocore computes them, so the AWS CLI and stsenv find each other's
//! entries: SHA-1 of Python's `json.dumps(args, sort_keys=True)` (separators `", "` and
//! `": "`, non-ASCII escaped) over the AssumeRole arguments.

use std::collections::BTreeMap;

use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::sts::RoleCall;

/// The arguments botocore hashes: RoleArn, RoleSessionName only when configured (a generated
/// one would change every time), ExternalId, SerialNumber, DurationSeconds, Policy parsed so
/// its keys sort. Options the CLI can't express (policy ARNs, tags, source identity, where the
/// source credentials of a bare role ARN came from) are added under names the CLI never uses,
/// so those entries can't collide with the CLI's.
///
/// The session name counts when it was given or configured (`options.session_name`), not
/// when it is the generated default; `source`: for a bare role ARN, where its source
/// credentials came from; `endpoint`: an STS endpoint other than the default, whose
/// credentials must never be served for another (nor to the AWS CLI, which keys by the
/// default).
pub fn role_args(
    call: &RoleCall,
    source: Option<&str>,
    endpoint: Option<&str>,
) -> BTreeMap<String, Value> {
    let mut args = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        args.insert(k.to_string(), v);
    };
    let hop = &call.options;
    put("RoleArn", call.role_arn.clone().into());
    if let Some(name) = &hop.session_name {
        put("RoleSessionName", name.clone().into());
    }
    if let Some(id) = &hop.external_id {
        put("ExternalId", id.clone().into());
    }
    if let Some(serial) = &hop.mfa_serial {
        put("SerialNumber", serial.clone().into());
    }
    if let Some(d) = hop.duration {
        put("DurationSeconds", d.into());
    }
    if let Some(policy) = &hop.policy {
        let parsed = serde_json::from_str(policy).unwrap_or_else(|_| policy.clone().into());
        put("Policy", parsed);
    }
    if !hop.policy_arns.is_empty() {
        let arns = hop
            .policy_arns
            .iter()
            .map(|a| serde_json::json!({ "arn": a }));
        put("PolicyArns", arns.collect());
    }
    if !hop.tags.is_empty() {
        let tags = hop
            .tags
            .iter()
            .map(|(k, v)| serde_json::json!({ "Key": k, "Value": v }));
        put("Tags", tags.collect());
    }
    if let Some(id) = &hop.source_identity {
        put("SourceIdentity", id.clone().into());
    }
    if let Some(source) = source {
        put("stsenv:Source", source.into());
    }
    if let Some(url) = endpoint {
        put("stsenv:Endpoint", url.trim_end_matches('/').into());
    }
    args
}

pub fn role_key(call: &RoleCall, source: Option<&str>, endpoint: Option<&str>) -> String {
    let args: serde_json::Map<String, Value> =
        role_args(call, source, endpoint).into_iter().collect();
    sha1_hex(&python_dumps(&Value::Object(args)))
}

pub fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `json.dumps(v, sort_keys=True)` with its default separators and `ensure_ascii`.
pub fn python_dumps(v: &Value) -> String {
    let mut out = String::new();
    dump(v, &mut out);
    out
}

fn dump(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => dump_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is ordered by key, which is Python's code-point order.
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_str(k, out);
                out.push_str(": ");
                dump(item, out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop() -> RoleCall {
        RoleCall {
            role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
            default_session: "stsenv-alice".into(),
            ..RoleCall::default()
        }
    }

    // Expected values computed with CPython 3.11:
    //   hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()
    #[test]
    fn matches_botocore_for_a_bare_role() {
        let h = hop();
        assert_eq!(
            python_dumps(&Value::Object(
                role_args(&h, None, None).into_iter().collect()
            )),
            r#"{"RoleArn": "arn:aws:iam::123456789012:role/deploy"}"#
        );
        assert_eq!(
            role_key(&h, None, None),
            "6a9d9ba39800a1773d9a3bd50c4a0db301ff5832"
        );
    }

    #[test]
    fn matches_botocore_with_every_profile_setting() {
        let mut h = hop();
        h.options.session_name = Some("ops".into());
        h.options.external_id = Some("ext-1".into());
        h.options.mfa_serial = Some("arn:aws:iam::123456789012:mfa/alice".into());
        h.options.duration = Some(3600);
        assert_eq!(
            python_dumps(&Value::Object(
                role_args(&h, None, None).into_iter().collect()
            )),
            r#"{"DurationSeconds": 3600, "ExternalId": "ext-1", "RoleArn": "arn:aws:iam::123456789012:role/deploy", "RoleSessionName": "ops", "SerialNumber": "arn:aws:iam::123456789012:mfa/alice"}"#
        );
        assert_eq!(
            role_key(&h, None, None),
            "2256203850bd492b16d5580f30f0039d8127ec6b"
        );
    }

    #[test]
    fn python_escapes() {
        let v = serde_json::json!({"b": "é\u{1F980}\n\"\\\u{1}\u{7f}", "a": [1, {"z": null, "y": true}]});
        assert_eq!(
            python_dumps(&v),
            r#"{"a": [1, {"y": true, "z": null}], "b": "\u00e9\ud83e\udd80\n\"\\\u0001\u007f"}"#
        );
    }
}
