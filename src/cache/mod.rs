//! Credentials cached between runs, addressed by `Key`, never by path. Role credentials live
//! in the AWS CLI's own cache (`~/.aws/cli/cache/<botocore key>.json`, the AssumeRole
//! response), so `aws --profile X` and `stsenv assume X` reuse each other's sessions. MFA
//! sessions (GetSessionToken) and `credential_process` output live in stsenv's cache dir. Folders are 0700, files 0600, written to a temp file and renamed; an
//! entry that can't be read or trusted is ignored and later replaced. A cache folder that
//! another user owns or can write in is not used at all.

pub mod key;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::env::Env;
use crate::fsutil::{
    check_private_dir, ensure_private_dir, open_private, read_private_json, write_atomic,
};
use crate::session::Credentials;
use crate::time;

/// The AWS CLI reuses an entry only while more than this much of it is left; so does stsenv.
pub const EXPIRY_WINDOW_SECS: i64 = 15 * 60;
/// The longest STS grants a role session (12 h) and an MFA session (36 h): an entry that
/// claims more was not written by STS's answer, and is not trusted.
pub const MAX_ROLE_SECS: i64 = 12 * 3600;
pub const MAX_MFA_SESSION_SECS: i64 = 36 * 3600;
const MAX_PROCESS_SECS: i64 = 366 * 86400;
/// Slack for the clock of whoever wrote the entry.
const CLOCK_SLACK_SECS: i64 = 5 * 60;
/// No cache file of ours is anywhere near this large.
const MAX_ENTRY_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read and write.
    Use,
    /// Don't read, write anew (`--refresh`).
    Refresh,
    /// Neither (`--no-cache`).
    Off,
}

/// What an entry is for: the cache is addressed by these, never by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Role credentials, under botocore's key (`key::role_key`): the AWS CLI's own file.
    Role(String),
    /// The MFA session (GetSessionToken) of long-term keys with one MFA device.
    Mfa {
        source: String,
        serial: String,
        access_key_id: String,
    },
    /// What a profile's `credential_process` printed, for that exact command.
    Process { profile: String, command: String },
}

/// What a new entry says about itself, for `stsenv cache list` (the AWS CLI reads only
/// "Credentials").
#[derive(Debug, Clone, Default)]
pub struct About<'a> {
    /// The target as typed.
    pub target: &'a str,
    /// The assumed-role ARN STS answered with.
    pub assumed_arn: Option<&'a str>,
}

/// What one entry holds, without its secrets: for `stsenv cache list` and `cache clear`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub what: What,
    pub expires: Option<i64>,
    /// Where it is, for people to read.
    pub location: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    Role {
        target: Option<String>,
        arn: Option<String>,
    },
    Mfa {
        source: String,
        serial: String,
    },
    Process {
        profile: String,
    },
}

impl Entry {
    pub fn kind(&self) -> &'static str {
        match self.what {
            What::Role { .. } => "role",
            What::Mfa { .. } => "mfa",
            What::Process { .. } => "process",
        }
    }

    /// Who the credentials are for, as people name it.
    pub fn identity(&self) -> String {
        match &self.what {
            What::Role {
                target: Some(t),
                arn: Some(a),
            } => format!("{t}: {a}"),
            What::Role { arn: Some(a), .. } => a.clone(),
            What::Role { .. } => "(written by another tool)".into(),
            What::Mfa { source, serial } => format!("{source} ({serial})"),
            What::Process { profile } => format!("{profile} (credential_process)"),
        }
    }
}

pub struct Cache {
    /// The AWS CLI's cache, shared with it.
    role_dir: PathBuf,
    /// stsenv's own: MFA sessions, process output and locks.
    own_dir: PathBuf,
    mode: Mode,
    /// The names in `role_dir`, listed once on first use.
    listing: std::sync::OnceLock<std::collections::HashSet<String>>,
}

impl Cache {
    /// The cache folders for this user. Err says why there is no cache (no HOME, or a
    /// folder that others own or can write in), for a warning.
    pub fn open(mode: Mode, env: &Env) -> Result<Cache, String> {
        let home = env
            .home()
            .ok_or("HOME is not set, so credentials are not cached")?;
        let own_dir = env
            .get("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".cache"))
            .join("stsenv");
        let cache = Cache {
            role_dir: home.join(".aws").join("cli").join("cache"),
            own_dir,
            mode,
            listing: std::sync::OnceLock::new(),
        };
        if mode != Mode::Off {
            for dir in [&cache.role_dir, &cache.own_dir, &cache.lock_dir()] {
                check_private_dir(dir)?;
            }
        }
        Ok(cache)
    }

    fn lock_dir(&self) -> PathBuf {
        self.own_dir.join("locks")
    }

    fn reads(&self) -> bool {
        self.mode == Mode::Use
    }

    fn writes(&self) -> bool {
        self.mode != Mode::Off
    }

    /// The folder and file name of `key`'s entry.
    fn place(&self, key: &Key) -> (&Path, String) {
        match key {
            Key::Role(k) => (&self.role_dir, format!("{k}.json")),
            Key::Mfa {
                source,
                serial,
                access_key_id,
            } => (
                &self.own_dir,
                format!(
                    "mfa-{}.json",
                    key::sha1_hex(&format!("{source}\n{serial}\n{access_key_id}"))
                ),
            ),
            Key::Process { profile, command } => (
                &self.own_dir,
                format!(
                    "process-{}.json",
                    key::sha1_hex(&format!("{profile}\n{command}"))
                ),
            ),
        }
    }

    /// Where `key`'s entry is (or would be), for people to read.
    pub fn location(&self, key: &Key) -> PathBuf {
        let (dir, name) = self.place(key);
        dir.join(name)
    }

    /// The folder `key`'s entry goes in, for messages.
    pub fn folder(&self, key: &Key) -> &Path {
        self.place(key).0
    }

    /// The credentials under `key`, if more than 15 minutes of them are left and no more
    /// than STS could have granted.
    pub fn get(&self, key: &Key) -> Option<Credentials> {
        if !self.reads() {
            return None;
        }
        let max = match key {
            Key::Role(_) => MAX_ROLE_SECS,
            Key::Mfa { .. } => MAX_MFA_SESSION_SECS,
            // A helper's credentials may last longer than STS's: only their own expiry
            // counts, and a year is the most any helper is believed.
            Key::Process { .. } => MAX_PROCESS_SECS,
        };
        fresh(&read_json(&self.location(key))?, max, key)
    }

    /// Whether an entry for `key` exists, from one listing of the AWS CLI's cache folder (so
    /// that asking about many profiles costs one read of the folder, not one per profile).
    pub fn contains(&self, key: &Key) -> bool {
        let (dir, name) = self.place(key);
        if dir != self.role_dir {
            return dir.join(name).exists();
        }
        self.listing
            .get_or_init(|| {
                fs::read_dir(&self.role_dir)
                    .map(|d| {
                        d.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .contains(&name)
    }

    /// Keeps `creds` under `key`; false when this mode writes nothing.
    pub fn put(&self, key: &Key, creds: &Credentials, about: &About) -> std::io::Result<bool> {
        if !self.writes() {
            return Ok(false);
        }
        let doc = match key {
            Key::Role(_) => {
                let mut doc = json!({ "Credentials": credentials_json(creds) });
                if let Some(arn) = about.assumed_arn {
                    doc["AssumedRoleUser"] = json!({ "Arn": arn });
                }
                doc["stsenv"] = json!({ "Target": about.target });
                doc
            }
            Key::Mfa { source, serial, .. } => json!({
                "SourceProfile": source,
                "SerialNumber": serial,
                "Credentials": credentials_json(creds),
            }),
            Key::Process { profile, .. } => json!({
                "Profile": profile,
                "Credentials": credentials_json(creds),
            }),
        };
        let (dir, name) = self.place(key);
        ensure_private_dir(dir).map_err(std::io::Error::other)?;
        write_atomic(dir, &name, &doc.to_string()).map(|()| true)
    }

    /// Removes `key`'s entry; whether there was one.
    pub fn remove(&self, key: &Key) -> bool {
        fs::remove_file(self.location(key)).is_ok()
    }

    /// Removes an entry `entries` listed; whether it was there.
    pub fn remove_entry(&self, entry: &Entry) -> bool {
        fs::remove_file(&entry.location).is_ok()
    }

    /// An exclusive lock on `key`, so that concurrent runs for the same credentials make one
    /// request and one prompt. Gives up after `wait` (a run stuck at a prompt must not block
    /// others forever); None when no lock could be had. While it waits, stderr says so,
    /// naming `what` the other run is getting.
    pub fn lock(&self, key: &Key, wait: Duration, what: &str) -> Option<File> {
        if self.mode == Mode::Off {
            return None;
        }
        let dir = self.lock_dir();
        ensure_private_dir(&dir).ok()?;
        let (_, name) = self.place(key);
        let name = match key {
            Key::Role(k) => format!("role-{k}"),
            _ => name.trim_end_matches(".json").to_string(),
        };
        let file = open_private(&dir.join(format!("{name}.lock")), true).ok()?;
        let deadline = Instant::now() + wait;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    if !said {
                        said = true;
                        crate::error::say(&format!(
                            "waiting for another stsenv run that is getting {what} (it may be at its MFA prompt); up to {} s",
                            wait.as_secs()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(_) => {
                    if said {
                        crate::error::warn(&format!(
                            "gave up waiting for the other run; getting {what} anew"
                        ));
                    }
                    return None;
                }
            }
        }
    }

    /// Every entry in both caches, soonest expiry first.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        for (dir, own) in [(&self.role_dir, false), (&self.own_dir, true)] {
            let Ok(list) = fs::read_dir(dir) else {
                continue;
            };
            for item in list.flatten() {
                let location = item.path();
                let name = item.file_name().to_string_lossy().into_owned();
                let ours = name.starts_with("mfa-") || name.starts_with("process-");
                if !name.ends_with(".json") || (own && !ours) {
                    continue;
                }
                let Some(doc) = read_json(&location) else {
                    continue;
                };
                let expires = doc["Credentials"]["Expiration"]
                    .as_str()
                    .and_then(time::parse);
                let text = |v: &Value| v.as_str().map(String::from);
                let what = if own && name.starts_with("mfa-") {
                    What::Mfa {
                        source: text(&doc["SourceProfile"]).unwrap_or_else(|| "?".into()),
                        serial: text(&doc["SerialNumber"]).unwrap_or_else(|| "?".into()),
                    }
                } else if own {
                    What::Process {
                        profile: text(&doc["Profile"]).unwrap_or_else(|| "?".into()),
                    }
                } else if doc["Credentials"].is_object() {
                    What::Role {
                        target: text(&doc["stsenv"]["Target"]),
                        arn: text(&doc["AssumedRoleUser"]["Arn"]),
                    }
                } else {
                    continue;
                };
                out.push(Entry {
                    what,
                    expires,
                    location,
                });
            }
        }
        out.sort_by_key(|e| e.expires.unwrap_or(i64::MAX));
        out
    }
}

fn credentials_json(c: &Credentials) -> Value {
    json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key,
        "SessionToken": c.session_token,
        "Expiration": c.expires.map(time::rfc3339),
    })
}

/// A cache file's JSON, or None for anything unreadable, unparsable, not a regular file of
/// this user's, or writable by others (an entry someone else could have planted is not
/// trusted).
fn read_json(path: &Path) -> Option<Value> {
    read_private_json(path, MAX_ENTRY_BYTES)
}

/// The credentials of an entry, if they are complete, more than 15 minutes are left, and no
/// more than `max_secs` (what STS could have granted). Only a process's credentials may come
/// without a session token.
fn fresh(doc: &Value, max_secs: i64, key: &Key) -> Option<Credentials> {
    let c = &doc["Credentials"];
    let expires = time::parse(c["Expiration"].as_str()?)?;
    let left = expires - time::now();
    if left <= EXPIRY_WINDOW_SECS || left > max_secs + CLOCK_SLACK_SECS {
        return None;
    }
    // A value no shell can carry (a NUL, a line break) is a corrupt entry, not a failure.
    let field = |k: &str| {
        c[k].as_str()
            .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
            .map(String::from)
    };
    let session_token = match key {
        Key::Process { .. } => field("SessionToken"),
        _ => Some(field("SessionToken")?),
    };
    Some(Credentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")?,
        session_token,
        expires: Some(expires),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(expires: i64) -> Credentials {
        Credentials {
            access_key_id: "ASIA".into(),
            secret_access_key: "secret".into(),
            session_token: Some("token".into()),
            expires: Some(expires),
        }
    }

    fn cache(dir: &Path, mode: Mode) -> Cache {
        Cache::open(mode, &Env::from_pairs([("HOME", dir.to_str().unwrap())])).unwrap()
    }

    fn role(k: &str) -> Key {
        Key::Role(k.into())
    }

    fn about() -> About<'static> {
        About {
            target: "t",
            assumed_arn: None,
        }
    }

    #[test]
    fn stores_and_reads_back_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Mode::Use);
        let good = creds(time::now() + 3600);
        let about = About {
            target: "prod",
            assumed_arn: Some("arn:aws:sts::1:assumed-role/r/s"),
        };
        c.put(&role("k1"), &good, &about).unwrap();
        assert_eq!(c.get(&role("k1")), Some(good.clone()));
        assert!(c.contains(&role("k1")) && !c.contains(&role("k2")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&c.location(&role("k1"))), 0o600);
            assert_eq!(mode(&c.role_dir), 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(&c.role_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let mfa = Key::Mfa {
            source: "base".into(),
            serial: "arn:aws:iam::1:mfa/me".into(),
            access_key_id: "AKIA".into(),
        };
        c.put(&mfa, &good, &about).unwrap();
        let process = Key::Process {
            profile: "okta".into(),
            command: "okta-helper --x".into(),
        };
        let keys_only = Credentials {
            session_token: None,
            ..good.clone()
        };
        c.put(&process, &keys_only, &about).unwrap();
        assert_eq!(c.get(&process), Some(keys_only));
        let listed: Vec<(&str, String)> = c
            .entries()
            .iter()
            .map(|e| (e.kind(), e.identity()))
            .collect();
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert!(listed.contains(&("mfa", "base (arn:aws:iam::1:mfa/me)".into())));
        assert!(listed.contains(&("process", "okta (credential_process)".into())));
        assert!(listed.contains(&("role", "prod: arn:aws:sts::1:assumed-role/r/s".into())));
        for e in c.entries() {
            assert!(c.remove_entry(&e));
        }
        assert!(c.entries().is_empty());
    }

    #[test]
    fn near_expiry_corrupt_and_foreign_entries_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Mode::Use);
        c.put(&role("soon"), &creds(time::now() + 600), &about())
            .unwrap();
        assert_eq!(
            c.get(&role("soon")),
            None,
            "10 minutes left is inside the CLI's 15-minute window"
        );
        fs::write(
            c.location(&role("bad")),
            "{\"Credentials\": {\"AccessKeyId\": \"x\"",
        )
        .unwrap();
        assert_eq!(c.get(&role("bad")), None);
        c.put(&role("planted"), &creds(time::now() + 3600), &about())
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(
                c.location(&role("planted")),
                fs::Permissions::from_mode(0o666),
            )
            .unwrap();
            assert_eq!(
                c.get(&role("planted")),
                None,
                "a world-writable entry is not trusted"
            );
        }
    }

    #[test]
    fn refresh_writes_without_reading_and_off_does_neither() {
        let dir = tempfile::tempdir().unwrap();
        let good = creds(time::now() + 3600);
        cache(dir.path(), Mode::Refresh)
            .put(&role("k"), &good, &about())
            .unwrap();
        assert_eq!(cache(dir.path(), Mode::Refresh).get(&role("k")), None);
        assert_eq!(
            cache(dir.path(), Mode::Use).get(&role("k")),
            Some(good.clone())
        );
        cache(dir.path(), Mode::Off)
            .put(&role("k2"), &good, &about())
            .unwrap();
        assert!(!cache(dir.path(), Mode::Use).location(&role("k2")).exists());
    }

    #[test]
    fn reads_entries_the_aws_cli_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Mode::Use);
        let exp = time::rfc3339(time::now() + 7200).replace('Z', "UTC");
        let doc = format!(
            "{{\"Credentials\": {{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"SessionToken\": \"T\", \"Expiration\": \"{exp}\"}}, \"AssumedRoleUser\": {{\"AssumedRoleId\": \"x\", \"Arn\": \"arn\"}}, \"ResponseMetadata\": {{}}}}"
        );
        write_atomic(&c.role_dir, "cli.json", &doc).unwrap();
        assert_eq!(c.get(&role("cli")).unwrap().access_key_id, "A");
    }
}
