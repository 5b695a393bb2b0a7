//! The profiles `stsenv sso sync` writes: one per account and role an SSO session reaches,
//! named by a template, marked `stsenv_generated_from = SESSION`; and how the AWS config file
//! changes to hold exactly those, never touching a section stsenv did not write.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::error::Error;
use crate::ini;
use crate::validate;

/// The marker key: the AWS CLI and SDKs ignore unknown keys.
pub const MARKER: &str = "stsenv_generated_from";
pub const DEFAULT_TEMPLATE: &str = "{account_name}.{role_name}";

/// One account and role the session reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub account_id: String,
    pub account_name: String,
    pub role: String,
}

/// A profile to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub name: String,
    pub account_id: String,
    pub role: String,
    pub body: Vec<(&'static str, String)>,
}

impl Found {
    /// Whether the portal's values may go into the config file: a 12-digit account id and
    /// an IAM role name. The account name is only ever written cleaned (`clean`).
    pub fn writable(&self) -> bool {
        validate::is_account_id(&self.account_id) && validate::is_role_name(&self.role)
    }
}

/// `name` with every character outside `A-Za-z0-9._-` made a `-` (one per character).
pub fn clean(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Checks that `template` uses only the known placeholders.
pub fn check_template(template: &str) -> Result<(), Error> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(bad_template(template, "a { is never closed"));
        };
        let name = &rest[open + 1..open + close];
        if !matches!(
            name,
            "account_name" | "account_id" | "role_name" | "session"
        ) {
            return Err(bad_template(
                template,
                &format!("{{{name}}} is not one of {{account_name}}, {{account_id}}, {{role_name}}, {{session}}"),
            ));
        }
        rest = &rest[open + close + 1..];
    }
    if template.trim().is_empty() {
        return Err(bad_template(template, "it is empty"));
    }
    Ok(())
}

fn bad_template(t: &str, why: &str) -> Error {
    Error::bad("name template", t, why.to_string())
}

/// The profiles for `found`, in name order. Accounts whose names clean to the same text each
/// get `-<account id>` after the name, so names don't depend on the listing's order. Two
/// roles that would still get one name are returned in `clashes`.
pub fn profiles(
    found: &[Found],
    template: &str,
    session: &str,
    region: &str,
) -> (Vec<Generated>, Vec<String>) {
    let mut by_name: HashMap<String, HashSet<&str>> = HashMap::new();
    for f in found {
        by_name
            .entry(clean(&f.account_name))
            .or_default()
            .insert(&f.account_id);
    }
    let mut out: BTreeMap<String, Generated> = BTreeMap::new();
    let mut clashes = Vec::new();
    for f in found {
        let cleaned = clean(&f.account_name);
        let account_name = if by_name[&cleaned].len() > 1 {
            format!("{cleaned}-{}", f.account_id)
        } else {
            cleaned
        };
        let name = clean(
            &template
                .replace("{account_name}", &account_name)
                .replace("{account_id}", &f.account_id)
                .replace("{role_name}", &f.role)
                .replace("{session}", session),
        );
        let generated = Generated {
            name: name.clone(),
            account_id: f.account_id.clone(),
            role: f.role.clone(),
            body: vec![
                ("sso_session", session.to_string()),
                ("sso_account_id", f.account_id.clone()),
                ("sso_role_name", f.role.clone()),
                ("region", region.to_string()),
                (MARKER, session.to_string()),
            ],
        };
        match out.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => clashes.push(e.key().clone()),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(generated);
            }
        }
    }
    (out.into_values().collect(), clashes)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Add(Generated),
    Update(Generated),
    Remove(String),
}

/// What a sync does to the file.
#[derive(Debug, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
    pub unchanged: usize,
    /// Profiles not written because a section of that name is the user's (or another
    /// session's): (name, whose).
    pub skipped: Vec<(String, String)>,
    /// Sections this session wrote for roles no longer reached, kept (without --prune).
    pub stale: Vec<String>,
}

/// How `text` must change to hold `wanted` for `session`. Sections of accounts in `failed`
/// are left as they are, even with `prune`.
pub fn diff(
    text: &str,
    session: &str,
    wanted: &[Generated],
    failed: &HashSet<String>,
    prune: bool,
) -> Diff {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let eol = ini::eol(text);
    let mut existing: HashMap<&str, (Option<&str>, Option<&str>, String)> = HashMap::new();
    for s in ini::sections(&lines) {
        let Some(name) = s.name.strip_prefix("profile ").map(str::trim) else {
            continue;
        };
        let keys = ini::keys(&lines[s.start + 1..s.end]);
        let get = |k: &str| keys.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        existing.insert(
            name,
            (
                get(MARKER),
                get("sso_account_id"),
                lines[s.start..s.end].concat(),
            ),
        );
    }
    let mut d = Diff::default();
    let wanted_names: HashSet<&str> = wanted.iter().map(|g| g.name.as_str()).collect();
    for g in wanted {
        match existing.get(g.name.as_str()) {
            None => d.changes.push(Change::Add(g.clone())),
            Some((Some(m), _, current)) if *m == session => {
                if section_text(g, eol).is_ok_and(|t| *current == t) {
                    d.unchanged += 1;
                } else {
                    d.changes.push(Change::Update(g.clone()));
                }
            }
            Some((Some(other), _, _)) => d
                .skipped
                .push((g.name.clone(), format!("written for SSO session '{other}'"))),
            Some((None, _, _)) => d.skipped.push((g.name.clone(), "your own".into())),
        }
    }
    let mut ours: Vec<(&str, Option<&str>)> = existing
        .iter()
        .filter(|(_, (m, _, _))| *m == Some(session))
        .map(|(n, (_, account, _))| (*n, *account))
        .collect();
    ours.sort();
    for (name, account) in ours {
        if wanted_names.contains(name) || account.is_some_and(|a| failed.contains(a)) {
            continue;
        }
        if prune {
            d.changes.push(Change::Remove(name.to_string()));
        } else {
            d.stale.push(name.to_string());
        }
    }
    d
}

/// The section as sync writes it.
fn section_text(g: &Generated, eol: &str) -> Result<String, Error> {
    ini::render(&format!("profile {}", g.name), &g.body, eol)
}

/// `text` with `changes` made; every other byte as it was.
pub fn apply(text: &str, changes: &[Change]) -> Result<String, Error> {
    let eol = ini::eol(text);
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    let name_of = |c: &Change| -> String {
        match c {
            Change::Add(g) | Change::Update(g) => g.name.clone(),
            Change::Remove(n) => n.clone(),
        }
    };
    let mut in_place: HashMap<String, &Change> = changes
        .iter()
        .filter(|c| !matches!(c, Change::Add(_)))
        .map(|c| (name_of(c), c))
        .collect();
    // From the bottom up, so the line numbers above stay right.
    let borrowed: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut spans: Vec<(usize, usize, String)> = ini::sections(&borrowed)
        .into_iter()
        .filter_map(|s| {
            let name = s.name.strip_prefix("profile ")?.trim().to_string();
            in_place
                .contains_key(&name)
                .then_some((s.start, s.end, name))
        })
        .collect();
    spans.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    for (start, end, name) in spans {
        match in_place.remove(&name) {
            Some(Change::Update(g)) => {
                lines.splice(start..end, [section_text(g, eol)?]);
            }
            Some(Change::Remove(_)) => {
                let blank = |i: usize| lines.get(i).is_some_and(|l| l.trim().is_empty());
                let header = |i: usize| lines.get(i).is_some_and(|l| ini::header(l).is_some());
                // The blank line sync put before it goes with it.
                let from = if start > 0
                    && blank(start - 1)
                    && (end == lines.len() || blank(end) || header(end))
                {
                    start - 1
                } else {
                    start
                };
                lines.drain(from..end);
            }
            _ => {}
        }
    }
    let mut out: String = lines.concat();
    for c in changes {
        if let Change::Add(g) = c {
            out = ini::append(&out, &section_text(g, eol)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, name: &str, role: &str) -> Found {
        Found {
            account_id: id.into(),
            account_name: name.into(),
            role: role.into(),
        }
    }

    #[test]
    fn names_are_cleaned_per_character_and_clashes_get_the_account_id() {
        let f = [
            found("111111111111", "Prod Ünit", "Admin"),
            found("222222222222", "prod_ünit", "Admin"),
            found("333333333333", "Prod-Ünit", "Admin"),
            found("444444444444", "dev", "Read Only"),
        ];
        let (g, clashes) = profiles(&f, DEFAULT_TEMPLATE, "corp", "eu-west-1");
        let names: Vec<&str> = g.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Prod--nit-111111111111.Admin",
                "Prod--nit-333333333333.Admin",
                "dev.Read-Only",
                "prod_-nit.Admin"
            ]
        );
        assert!(clashes.is_empty());
        let (g, _) = profiles(&f[3..], "{session}/{account_id}:{role_name}", "corp", "r");
        assert_eq!(g[0].name, "corp-444444444444-Read-Only");
        assert!(check_template("{account_name}.{role}").is_err());
        assert!(check_template("{account_id}-{role_name}").is_ok());
    }

    /// Security round 3, G1: only an account id and an IAM role name are writable.
    #[test]
    fn only_aws_grammar_is_writable() {
        assert!(found("111111111111", "a\nb", "Admin+=,.@-_9").writable());
        for (id, role) in [
            ("11111111111", "Admin"),
            ("1111111111111", "Admin"),
            ("11111111111\n", "Admin"),
            ("111111111111", "Admin]\n[default]"),
            ("111111111111", "Admin\r\nsso_start_url = https://evil"),
            ("111111111111", "Ad min"),
            ("111111111111", ""),
            ("111111111111", &"x".repeat(65)),
            ("111111111111", "Adm\u{2028}in"),
        ] {
            assert!(!found(id, "n", role).writable(), "{id:?} {role:?}");
        }
    }

    #[test]
    fn sync_keeps_every_other_byte_and_is_stable() {
        let text = "# mine\r\n[profile dev.Admin]\r\nregion = us-east-1\r\n\r\n[default]\r\nregion = eu-west-1\r\n";
        let f = [
            found("111111111111", "dev", "Admin"),
            found("111111111111", "dev", "Read"),
            found("222222222222", "prod", "Admin"),
        ];
        let (g, _) = profiles(&f, DEFAULT_TEMPLATE, "corp", "eu-west-1");
        let d = diff(text, "corp", &g, &HashSet::new(), false);
        assert_eq!(
            d.skipped,
            [("dev.Admin".to_string(), "your own".to_string())]
        );
        let once = apply(text, &d.changes).unwrap();
        assert!(once.starts_with(text), "{once}");
        assert!(
            once.contains("[profile prod.Admin]\r\nsso_session = corp\r\n"),
            "{once}"
        );
        let d = diff(&once, "corp", &g, &HashSet::new(), false);
        assert!(d.changes.is_empty() && d.unchanged == 2);
        // A role no longer reached: stale, then pruned, and the file is as before.
        let d = diff(&once, "corp", &g[..1], &HashSet::new(), true);
        let pruned = apply(&once, &d.changes).unwrap();
        let d2 = diff(&pruned, "corp", &g[..1], &HashSet::new(), false);
        assert!(d2.changes.is_empty(), "{pruned}");
        // A failed account keeps its sections even with --prune.
        let failed: HashSet<String> = ["222222222222".to_string()].into();
        let d = diff(&once, "corp", &g[..1], &failed, true);
        assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
    }
}
