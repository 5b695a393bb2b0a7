//! `stsenv profiles`: what is in the config and credentials files, as a table, JSON, or the
//! bare names, one per line.

use aws_config::profile::ProfileSet;
use serde_json::json;

use crate::aws_files::kind;
use crate::cmd::{account_and_role, table, CachedCredentials, Output};
use crate::context::Context;
use crate::error::Error;
use crate::sso::cache::TokenCache;
use crate::sso::SsoConfig;
use crate::time;

struct Row<'a> {
    name: &'a str,
    kind: &'static str,
    role_arn: Option<&'a str>,
    source: Option<&'a str>,
    mfa: Option<&'a str>,
    region: Option<&'a str>,
    sso: Option<Sso<'a>>,
}

/// An SSO profile's sign-in and its cached token, read without any request.
struct Sso<'a> {
    /// The `[sso-session]`, or None for a legacy profile.
    session: Option<String>,
    account: Option<&'a str>,
    role: Option<&'a str>,
    /// When the cached token expires; None when there is none.
    token_expires: Option<i64>,
}

impl Sso<'_> {
    fn status(&self) -> String {
        let name = self.session.as_deref().unwrap_or("legacy");
        match self.token_expires.map(|e| e - time::now()) {
            None => format!("{name}: not signed in"),
            Some(left) if left <= 0 => format!("{name}: expired"),
            Some(left) if left < 3600 => format!("{name}: {}m left", left / 60),
            Some(left) => format!("{name}: {}h{:02}m left", left / 3600, left % 3600 / 60),
        }
    }
}

pub fn run(ctx: &Context, json: bool, names: bool) -> Result<Output, Error> {
    let set = ctx.profiles()?;
    let tokens = TokenCache::open(ctx.env());
    let rows = rows(set, tokens.as_ref());
    Ok(Output::Text(match (json, names) {
        (true, _) => to_json(ctx, set, &rows),
        (_, true) => rows
            .iter()
            .map(|r| format!("{}\n", crate::error::escape_controls(r.name)))
            .collect(),
        _ => to_table(&rows),
    }))
}

/// Every profile, sorted by name.
fn rows<'a>(set: &'a ProfileSet, tokens: Option<&TokenCache>) -> Vec<Row<'a>> {
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
                sso: SsoConfig::from_profile(set, name)
                    .ok()
                    .flatten()
                    .map(|cfg| Sso {
                        token_expires: tokens
                            .and_then(|t| t.read_token(&cfg))
                            .map(|t| t.expires_at),
                        session: cfg.session,
                        account: p.get("sso_account_id"),
                        role: p.get("sso_role_name"),
                    }),
            })
        })
        .collect()
}

fn to_json(ctx: &Context, set: &ProfileSet, rows: &[Row]) -> String {
    let cached = CachedCredentials::new(ctx);
    let list: Vec<_> = rows
        .iter()
        .map(|r| {
            let sso = r.sso.as_ref();
            let expires = sso.and_then(|s| s.token_expires);
            let (account, role) = account_and_role(set, r.name);
            json!({
                "name": r.name,
                "kind": r.kind,
                "source": r.source,
                "role_arn": r.role_arn,
                "account_id": account,
                "role_name": role,
                "credentials_expire": cached.until(r.name).map(time::rfc3339),
                "source_profile": r.source,
                "mfa_serial": r.mfa,
                "region": r.region,
                "sso_session": sso.and_then(|s| s.session.clone()),
                "sso_account_id": sso.and_then(|s| s.account),
                "sso_role_name": sso.and_then(|s| s.role),
                "sso_token_valid": sso.map(|_| expires.is_some_and(|e| e > time::now())),
                "sso_token_expires": expires.map(time::rfc3339),
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(list))
}

fn to_table(rows: &[Row]) -> String {
    let dash = |v: Option<&str>| v.unwrap_or("-").to_string();
    let mut cells = vec![[
        "PROFILE", "KIND", "ROLE ARN", "SOURCE", "MFA", "REGION", "SSO",
    ]
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
            r.sso.as_ref().map_or("-".to_string(), Sso::status),
        ]);
    }
    table(&cells)
}
