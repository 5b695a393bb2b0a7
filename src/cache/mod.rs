//! Credentials cached between runs. Role credentials live in the AWS CLI's own cache
//! (`~/.aws/cli/cache/<botocore key>.json`, the AssumeRole response), so `aws --profile X` and
//! `stsenv assume X` reuse each other's sessions. MFA sessions (GetSessionToken) live in
//! stsenv's cache dir. Folders are 0700, files 0600, written to a temp file and renamed; an
//! entry that can't be read or trusted is ignored and later replaced. A cache folder that
//! another user owns or can write in is not used at all.

pub mod key;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fsutil::{
    check_private_dir, ensure_private_dir, open_private, read_capped, write_atomic,
};
use crate::session::Credentials;
use crate::time;

/// The AWS CLI reuses an entry only while more than this much of it is left; so does stsenv.
pub const EXPIRY_WINDOW_SECS: i64 = 15 * 60;
/// The longest STS grants a role session (12 h) and an MFA session (36 h): an entry that
/// claims more was not written by STS's answer, and is not trusted.
pub const MAX_ROLE_SECS: i64 = 12 * 3600;
pub const MAX_MFA_SESSION_SECS: i64 = 36 * 3600;
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

pub struct Cache {
    /// The AWS CLI's cache, shared with it.
    pub role_dir: PathBuf,
    /// stsenv's own: MFA sessions and locks.
    pub own_dir: PathBuf,
    mode: Mode,
}

/// What one cache file holds, without its secrets: for `stsenv cache list`.
#[derive(Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub kind: &'static str,
    pub identity: String,
    pub expires: Option<i64>,
}

impl Cache {
    /// The cache dirs for this user. Err says why there is no cache (no HOME, or a folder
    /// that others own or can write in), for a warning.
    pub fn open(mode: Mode, env: &dyn Fn(&str) -> Option<String>) -> Result<Cache, String> {
        let home = env("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or("HOME is not set, so credentials are not cached")?;
        let own_dir = env("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".cache"))
            .join("stsenv");
        let cache = Cache {
            role_dir: home.join(".aws").join("cli").join("cache"),
            own_dir,
            mode,
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

    /// Role credentials under a botocore key, if more than 15 minutes of them are left.
    pub fn role(&self, key: &str) -> Option<Credentials> {
        if !self.reads() {
            return None;
        }
        fresh(
            &read_json(&self.role_dir.join(format!("{key}.json")))?,
            MAX_ROLE_SECS,
        )
    }

    pub fn store_role(
        &self,
        key: &str,
        creds: &Credentials,
        assumed_role_arn: Option<&str>,
        target: &str,
    ) -> std::io::Result<bool> {
        if !self.writes() {
            return Ok(false);
        }
        let mut doc = json!({ "Credentials": credentials_json(creds) });
        if let Some(arn) = assumed_role_arn {
            doc["AssumedRoleUser"] = json!({ "Arn": arn });
        }
        // The CLI reads only "Credentials"; this says what the entry is for `cache list`.
        doc["stsenv"] = json!({ "Target": target });
        ensure_private_dir(&self.role_dir).map_err(std::io::Error::other)?;
        write_atomic(&self.role_dir, &format!("{key}.json"), &doc.to_string()).map(|()| true)
    }

    fn mfa_file(source: &str, serial: &str, access_key_id: &str) -> String {
        format!(
            "mfa-{}.json",
            key::sha1_hex(&format!("{source}\n{serial}\n{access_key_id}"))
        )
    }

    /// The MFA session for these long-term keys and device, if fresh.
    pub fn mfa_session(
        &self,
        source: &str,
        serial: &str,
        access_key_id: &str,
    ) -> Option<Credentials> {
        if !self.reads() {
            return None;
        }
        fresh(
            &read_json(
                &self
                    .own_dir
                    .join(Self::mfa_file(source, serial, access_key_id)),
            )?,
            MAX_MFA_SESSION_SECS,
        )
    }

    pub fn store_mfa_session(
        &self,
        source: &str,
        serial: &str,
        access_key_id: &str,
        creds: &Credentials,
    ) -> std::io::Result<bool> {
        if !self.writes() {
            return Ok(false);
        }
        let doc = json!({
            "SourceProfile": source,
            "SerialNumber": serial,
            "Credentials": credentials_json(creds),
        });
        ensure_private_dir(&self.own_dir).map_err(std::io::Error::other)?;
        write_atomic(
            &self.own_dir,
            &Self::mfa_file(source, serial, access_key_id),
            &doc.to_string(),
        )
        .map(|()| true)
    }

    /// An exclusive lock on `name`, so that concurrent runs for the same role make one request
    /// and one prompt. Gives up after `wait` (a run stuck at a prompt must not block others
    /// forever); None when no lock could be had. While it waits, stderr says so, naming
    /// `what` the other run is getting.
    pub fn lock(&self, name: &str, wait: Duration, what: &str) -> Option<File> {
        if self.mode == Mode::Off {
            return None;
        }
        let dir = self.lock_dir();
        ensure_private_dir(&dir).ok()?;
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
                let path = item.path();
                let name = item.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".json") || (own && !name.starts_with("mfa-")) {
                    continue;
                }
                let Some(doc) = read_json(&path) else {
                    continue;
                };
                let expires = doc["Credentials"]["Expiration"]
                    .as_str()
                    .and_then(time::parse);
                let (kind, identity) = if own {
                    let src = doc["SourceProfile"].as_str().unwrap_or("?");
                    let serial = doc["SerialNumber"].as_str().unwrap_or("?");
                    ("mfa", format!("{src} ({serial})"))
                } else if let Some(arn) = doc["AssumedRoleUser"]["Arn"].as_str() {
                    let target = doc["stsenv"]["Target"].as_str();
                    (
                        "role",
                        target.map_or(arn.to_string(), |t| format!("{t}: {arn}")),
                    )
                } else if doc["Credentials"].is_object() {
                    ("role", "(written by another tool)".to_string())
                } else {
                    continue;
                };
                out.push(Entry {
                    path,
                    kind,
                    identity,
                    expires,
                });
            }
        }
        out.sort_by_key(|e| e.expires.unwrap_or(i64::MAX));
        out
    }

    pub fn remove(&self, path: &Path) -> std::io::Result<()> {
        fs::remove_file(path)
    }

    pub fn role_path(&self, key: &str) -> PathBuf {
        self.role_dir.join(format!("{key}.json"))
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
pub fn read_json(path: &Path) -> Option<Value> {
    let file = open_private(path, false).ok()?;
    serde_json::from_slice(&read_capped(file, MAX_ENTRY_BYTES).ok()?).ok()
}

/// The credentials of an entry, if they are complete, more than 15 minutes are left, and no
/// more than `max_secs` (what STS could have granted).
fn fresh(doc: &Value, max_secs: i64) -> Option<Credentials> {
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
    Some(Credentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")?,
        session_token: Some(field("SessionToken")?),
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
        let home = dir.to_str().unwrap().to_string();
        Cache::open(mode, &|k| (k == "HOME").then(|| home.clone())).unwrap()
    }

    #[test]
    fn stores_and_reads_back_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Mode::Use);
        let good = creds(time::now() + 3600);
        c.store_role("k1", &good, Some("arn:aws:sts::1:assumed-role/r/s"), "prod")
            .unwrap();
        assert_eq!(c.role("k1"), Some(good));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&c.role_path("k1")), 0o600);
            assert_eq!(mode(&c.role_dir), 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(&c.role_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn near_expiry_corrupt_and_foreign_entries_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Mode::Use);
        c.store_role("soon", &creds(time::now() + 600), None, "t")
            .unwrap();
        assert_eq!(
            c.role("soon"),
            None,
            "10 minutes left is inside the CLI's 15-minute window"
        );
        fs::write(
            c.role_path("bad"),
            "{\"Credentials\": {\"AccessKeyId\": \"x\"",
        )
        .unwrap();
        assert_eq!(c.role("bad"), None);
        c.store_role("planted", &creds(time::now() + 3600), None, "t")
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(c.role_path("planted"), fs::Permissions::from_mode(0o666)).unwrap();
            assert_eq!(
                c.role("planted"),
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
            .store_role("k", &good, None, "t")
            .unwrap();
        assert_eq!(cache(dir.path(), Mode::Refresh).role("k"), None);
        assert_eq!(cache(dir.path(), Mode::Use).role("k"), Some(good.clone()));
        cache(dir.path(), Mode::Off)
            .store_role("k2", &good, None, "t")
            .unwrap();
        assert!(!cache(dir.path(), Mode::Use).role_path("k2").exists());
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
        assert_eq!(c.role("cli").unwrap().access_key_id, "A");
    }
}
