//! `stsenv profiles`: what is in the config and credentials files, as a table, JSON, or the
//! bare names, one per line.

use aws_config::profile::ProfileSet;
use serde_json::json;

use crate::aws_files::{kind, load_profiles};
use crate::cmd::{table, Output};
use crate::error::Error;

struct Row<'a> {
    name: &'a str,
    kind: &'static str,
    role_arn: Option<&'a str>,
    source: Option<&'a str>,
    mfa: Option<&'a str>,
    region: Option<&'a str>,
}

pub fn run(json: bool, names: bool) -> Result<Output, Error> {
    let set = load_profiles()?;
    let rows = rows(&set);
    Ok(Output::Text(match (json, names) {
        (true, _) => to_json(&rows),
        (_, true) => rows.iter().map(|r| format!("{}\n", r.name)).collect(),
        _ => to_table(&rows),
    }))
}

/// Every profile, sorted by name.
fn rows(set: &ProfileSet) -> Vec<Row<'_>> {
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

fn to_json(rows: &[Row]) -> String {
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

fn to_table(rows: &[Row]) -> String {
    let dash = |v: Option<&str>| v.unwrap_or("-").to_string();
    let mut cells = vec![["PROFILE", "KIND", "ROLE ARN", "SOURCE", "MFA", "REGION"]
        .map(String::from)
        .to_vec()];
    for r in rows {
        cells.push(vec![
            r.name.to_string(),
            r.kind.to_string(),
            dash(r.role_arn),
            dash(r.source),
            if r.mfa.is_some() { "yes" } else { "-" }.to_string(),
            dash(r.region),
        ]);
    }
    table(&cells)
}
