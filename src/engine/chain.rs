//! Walking `source_profile` chains in the profiles aws-config parsed, down to the first
//! profile that holds credentials of its own. Makes no request.

use std::str::FromStr;

use aws_config::profile::ProfileSet;

use crate::error::Error;
use crate::sts::{RoleCall, RoleOptions};
use crate::validate;

/// Where the credentials for the first hop come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The standard chain, as the AWS CLI resolves it without --profile.
    DefaultChain,
    /// A profile without role_arn: static keys, SSO, credential_process, login.
    Profile(String),
    /// A profile's own static keys: a role profile whose source_profile is itself, or a
    /// source profile with keys (which stop the walk there, whatever else it holds).
    StaticKeys(String),
    /// A profile with `role_arn` and `web_identity_token_file`: AssumeRoleWithWebIdentity.
    WebIdentity {
        profile: String,
        role_arn: String,
        token_file: String,
        session_name: String,
    },
    /// A role profile's `credential_source`.
    Provider {
        profile: String,
        kind: CredentialSource,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

impl FromStr for CredentialSource {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        // Case-insensitive, as aws-config reads it.
        match s.to_ascii_lowercase().as_str() {
            "environment" => Ok(Self::Environment),
            "ec2instancemetadata" => Ok(Self::Ec2InstanceMetadata),
            "ecscontainer" => Ok(Self::EcsContainer),
            _ => Err(()),
        }
    }
}

impl Source {
    /// How messages name it: "of profile 'dev'", "from the default credential chain".
    pub fn label(&self) -> String {
        match self {
            Source::DefaultChain => "from the default credential chain".into(),
            Source::Profile(p) | Source::StaticKeys(p) => format!("of profile '{p}'"),
            Source::WebIdentity { profile, .. } => {
                format!("of profile '{profile}' (web identity)")
            }
            Source::Provider { profile, kind } => {
                format!("of profile '{profile}' (credential_source {kind:?})")
            }
        }
    }
}

/// One AssumeRole call, and what stsenv knows about it beyond STS's parameters.
#[derive(Debug, Clone, Default)]
pub struct Hop {
    pub call: RoleCall,
    /// The profile this hop was read from, for messages.
    pub profile: Option<String>,
    /// A command that prints the MFA code (aws-vault's `mfa_process`).
    pub mfa_process: Option<String>,
    /// For a bare role ARN: where the source credentials came from, so that two identities
    /// assuming one role don't share a cache entry.
    pub cache_source: Option<String>,
}

impl Hop {
    /// Its cache key: botocore's for what the CLI can express, plus stsenv's additions;
    /// `endpoint` is the STS endpoint other than the default that is called (given, or
    /// configured in the environment or the profile), whose credentials must be served for
    /// it alone. With the default endpoint the key is botocore's, shared with the AWS CLI.
    pub fn cache_key(&self, endpoint: Option<&str>) -> String {
        crate::cache::key::role_key(&self.call, self.cache_source.as_deref(), endpoint)
    }
}

/// The credential source a chain starts from, and the AssumeRole hops above it, in call order.
///
/// The rules are aws-config's and botocore's: a missing profile is named before a loop is; after
/// the first profile, one with static keys is a source whatever else it holds; a profile with
/// `role_arn` and `web_identity_token_file` is a source (web identity), never a hop.
pub fn walk(
    set: &ProfileSet,
    start: &str,
    default_session: &str,
    files: &str,
    warnings: &mut Vec<String>,
) -> Result<(Source, Vec<Hop>), Error> {
    let mut visited: Vec<String> = Vec::new();
    let mut hops = Vec::new();
    let mut name = start.to_string();
    let source = loop {
        let Some(profile) = set.get_profile(&name) else {
            return Err(unknown_profile(set, &name, files, &visited));
        };
        if visited.contains(&name) {
            visited.push(name);
            return Err(Error::ProfileLoop(visited.join(" -> ")));
        }
        visited.push(name.clone());
        let get = |k: &str| profile.get(k).filter(|v| !v.is_empty());
        if visited.len() > 1
            && get("aws_access_key_id").is_some()
            && get("aws_secret_access_key").is_some()
        {
            break Source::StaticKeys(name);
        }
        match (get("role_arn"), get("web_identity_token_file")) {
            (Some(role_arn), Some(token_file)) => {
                in_profile(&name, "role_arn", role_arn, validate::role_arn(role_arn))?;
                let session_name = match get("role_session_name") {
                    Some(n) => {
                        in_profile(&name, "role_session_name", n, validate::session_name(n))?;
                        n.to_string()
                    }
                    None => default_session.to_string(),
                };
                break Source::WebIdentity {
                    role_arn: role_arn.to_string(),
                    token_file: token_file.to_string(),
                    session_name,
                    profile: name,
                };
            }
            (None, Some(_)) => {
                return Err(Error::ProfileValue {
                    profile: name,
                    key: "web_identity_token_file",
                    why: "is set but role_arn is not: add the role_arn the token is for".into(),
                })
            }
            (None, None) => break Source::Profile(name),
            (Some(_), None) => {}
        }
        let role_arn = get("role_arn").unwrap_or_default();
        hops.push(hop(&name, role_arn, get, default_session, warnings)?);
        match (get("source_profile"), get("credential_source")) {
            (Some(_), Some(_)) => return Err(Error::TwoSourcesForRole(name)),
            // The AWS CLI's rule: a role profile that names itself as its source uses its
            // own static keys for the first hop.
            (Some(src), None) if src == name && get("aws_access_key_id").is_some() => {
                break Source::StaticKeys(name)
            }
            (Some(src), None) => name = src.to_string(),
            (None, Some(cs)) => {
                break Source::Provider {
                    profile: name.clone(),
                    kind: cs.parse().map_err(|_| Error::BadCredentialSource {
                        profile: name.clone(),
                        value: cs.to_string(),
                    })?,
                }
            }
            (None, None) => return Err(Error::NoSourceForRole(name)),
        }
    };
    hops.reverse();
    Ok((source, hops))
}

/// A value of `profile` that failed its check, named with its key.
fn in_profile(
    profile: &str,
    key: &'static str,
    value: &str,
    checked: Result<(), Error>,
) -> Result<(), Error> {
    checked.map_err(|e| {
        let why = match e {
            Error::BadValue { why, .. } => format!("'{value}' is invalid: {why}"),
            Error::BadRoleArn(_) => format!(
                "'{value}' is not a role ARN: expected arn:aws:iam::<12-digit account id>:role/<name>"
            ),
            other => other.to_string(),
        };
        Error::ProfileValue {
            profile: profile.to_string(),
            key,
            why,
        }
    })
}

fn hop<'a>(
    profile: &str,
    role_arn: &str,
    get: impl Fn(&str) -> Option<&'a str>,
    default_session: &str,
    warnings: &mut Vec<String>,
) -> Result<Hop, Error> {
    in_profile(profile, "role_arn", role_arn, validate::role_arn(role_arn))?;
    let session_name = get("role_session_name");
    if let Some(n) = session_name {
        in_profile(profile, "role_session_name", n, validate::session_name(n))?;
    }
    let duration = match get("duration_seconds") {
        Some(d) => Some(duration_seconds(profile, d)?),
        None => None,
    };
    let external_id = get("external_id").map(String::from);
    if let Some(id) = &external_id {
        in_profile(profile, "external_id", id, validate::external_id(id))?;
    }
    let mfa_serial = match (get("mfa_serial"), get("mfa_arn")) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(s)) => {
            warnings.push(format!(
                "profile '{profile}' uses mfa_arn, which the AWS CLI ignores; stsenv reads it as mfa_serial, rename it so both agree"
            ));
            Some(s.to_string())
        }
        (None, None) => None,
    };
    if let Some(serial) = &mfa_serial {
        in_profile(profile, "mfa_serial", serial, validate::mfa_serial(serial))?;
    }
    Ok(Hop {
        call: RoleCall {
            role_arn: role_arn.to_string(),
            default_session: default_session.to_string(),
            options: RoleOptions {
                session_name: session_name.map(String::from),
                duration,
                external_id,
                mfa_serial,
                ..RoleOptions::default()
            },
        },
        profile: Some(profile.to_string()),
        mfa_process: get("mfa_process").map(String::from),
        ..Hop::default()
    })
}

/// `duration_seconds` as the AWS CLI takes it: a whole number of seconds, 900 to 43200.
pub fn duration_seconds(profile: &str, value: &str) -> Result<u32, Error> {
    let bad = |why: String| Error::ProfileValue {
        profile: profile.to_string(),
        key: "duration_seconds",
        why: format!("'{value}' {why}"),
    };
    let secs: u64 = value.trim().parse().map_err(|_| {
        bad("is not a whole number of seconds, the only form the AWS CLI accepts there (write 3600 for 1h)".into())
    })?;
    if !(validate::MIN_DURATION as u64..=validate::MAX_DURATION as u64).contains(&secs) {
        return Err(bad(
            "is outside what STS allows for a role, 900 to 43200 seconds".into(),
        ));
    }
    Ok(secs as u32)
}

/// `name` is not a profile; `visited` are the profiles that led to it (the last one names it
/// as its source_profile), which are never suggested: following that would make a loop.
pub fn unknown_profile(set: &ProfileSet, name: &str, files: &str, visited: &[String]) -> Error {
    let mut scored: Vec<(usize, &str)> = set
        .profiles()
        .filter(|p| !visited.iter().any(|v| v == p))
        .map(|p| (distance(name, p), p))
        .filter(|(d, p)| *d <= (name.len().max(p.len()) / 3).max(2) || p.starts_with(name))
        .collect();
    scored.sort();
    let names: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(_, p)| format!("'{p}'"))
        .collect();
    let suggestion = if names.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", names.join(" or "))
    };
    Error::UnknownProfile {
        name: match visited.last() {
            Some(from) => format!("{name}' (the source_profile of '{from}')"),
            None => format!("{name}'"),
        },
        files: files.to_string(),
        suggestion,
    }
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Profiles parsed by aws-config from config-file text, as in real use.
    fn set(profiles: &[(&str, &[(&str, &str)])]) -> ProfileSet {
        let mut text = String::new();
        for (name, kv) in profiles {
            text.push_str(&format!("[profile {name}]\n"));
            for (k, v) in kv.iter() {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        crate::aws_files::profiles_from_text(&text).unwrap()
    }

    const ARN_A: &str = "arn:aws:iam::123456789012:role/a";
    const ARN_B: &str = "arn:aws:iam::123456789012:role/b";

    #[test]
    fn two_hop_chain_in_call_order() {
        let s = set(&[
            ("base", &[("aws_access_key_id", "x")]),
            ("a", &[("role_arn", ARN_A), ("source_profile", "base")]),
            (
                "b",
                &[
                    ("role_arn", ARN_B),
                    ("source_profile", "a"),
                    ("duration_seconds", "900"),
                ],
            ),
        ]);
        let (source, hops) = walk(&s, "b", "sess", "f", &mut vec![]).unwrap();
        assert_eq!(source, Source::Profile("base".into()));
        let arns: Vec<_> = hops.iter().map(|h| h.call.role_arn.as_str()).collect();
        assert_eq!(arns, [ARN_A, ARN_B]);
        assert_eq!(hops[1].call.options.duration, Some(900));
    }

    #[test]
    fn loops_are_named() {
        let s = set(&[
            ("a", &[("role_arn", ARN_A), ("source_profile", "b")]),
            ("b", &[("role_arn", ARN_B), ("source_profile", "a")]),
        ]);
        let err = walk(&s, "a", "sess", "f", &mut vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("a -> b -> a"), "{err}");
    }

    #[test]
    fn self_sourcing_role_uses_its_own_keys() {
        let s = set(&[(
            "a",
            &[
                ("role_arn", ARN_A),
                ("source_profile", "a"),
                ("aws_access_key_id", "x"),
            ],
        )]);
        let (source, hops) = walk(&s, "a", "sess", "f", &mut vec![]).unwrap();
        assert_eq!(source, Source::StaticKeys("a".into()));
        assert_eq!(hops.len(), 1);
    }

    #[test]
    fn unknown_profile_suggests_close_names() {
        let s = set(&[("prod", &[]), ("prod-admin", &[]), ("dev", &[])]);
        let err = walk(&s, "prdo", "sess", "~/.aws/config", &mut vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean 'prod'"), "{err}");
        assert!(!err.contains("'dev'"), "{err}");
    }

    #[test]
    fn credential_source_is_checked() {
        let s = set(&[(
            "a",
            &[("role_arn", ARN_A), ("credential_source", "Environment")],
        )]);
        let (source, _) = walk(&s, "a", "sess", "f", &mut vec![]).unwrap();
        assert!(matches!(source, Source::Provider { .. }));
        let s = set(&[("a", &[("role_arn", ARN_A), ("credential_source", "Nope")])]);
        assert!(walk(&s, "a", "sess", "f", &mut vec![]).is_err());
    }
}
