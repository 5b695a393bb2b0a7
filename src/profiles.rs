//! `stsenv profiles`: what is in the config and credentials files, as a table, JSON, or the
//! bare names that completion uses.

use aws_config::profile::{Profile, ProfileSet};
use serde_json::json;

pub struct Row<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    pub role_arn: Option<&'a str>,
    pub source: Option<&'a str>,
    pub mfa: Option<&'a str>,
    pub region: Option<&'a str>,
}

pub fn kind(p: &Profile) -> &'static str {
    let has = |k: &str| p.get(k).is_some();
    if has("role_arn") {
        "role"
    } else if has("sso_session") || has("sso_start_url") || has("sso_account_id") {
        "sso"
    } else if has("credential_process") {
        "process"
    } else if has("web_identity_token_file") {
        "web identity"
    } else if has("aws_access_key_id") {
        "static"
    } else {
        "settings"
    }
}

/// Every profile, sorted by name.
pub fn rows(set: &ProfileSet) -> Vec<Row<'_>> {
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    names
        .into_iter()
        .filter_map(|name| {
            let p = set.get_profile(name)?;
            Some(Row {
                name,
                kind: kind(p),
                role_arn: p.get("role_arn"),
                source: p
                    .get("source_profile")
                    .or_else(|| p.get("credential_source")),
                mfa: p.get("mfa_serial").or_else(|| p.get("mfa_arn")),
                region: p.get("region"),
            })
        })
        .collect()
}

pub fn names(rows: &[Row]) -> String {
    rows.iter().map(|r| format!("{}\n", r.name)).collect()
}

pub fn json(rows: &[Row]) -> String {
    let list: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "kind": r.kind,
                "role_arn": r.role_arn,
                "source_profile": r.source,
                "mfa_serial": r.mfa,
                "region": r.region,
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(list))
}

pub fn table(rows: &[Row]) -> String {
    let dash = |v: Option<&str>| v.unwrap_or("-").to_string();
    let mut cells = vec![[
        "PROFILE".to_string(),
        "KIND".into(),
        "ROLE ARN".into(),
        "SOURCE".into(),
        "MFA".into(),
        "REGION".into(),
    ]];
    for r in rows {
        cells.push([
            r.name.to_string(),
            r.kind.to_string(),
            dash(r.role_arn),
            dash(r.source),
            if r.mfa.is_some() {
                "yes".into()
            } else {
                "-".into()
            },
            dash(r.region),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for c in &cells {
        let mut line = String::new();
        for (i, cell) in c.iter().enumerate() {
            line.push_str(&format!("{cell:w$}  ", w = widths[i]));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
