//! `stsenv cache list` and `stsenv cache clear`.

use std::path::Path;

use super::{key, Cache, Mode};
use crate::assume::{config_files, load_profiles};
use crate::error::Error;
use crate::resolve::{self, Request, Source};
use crate::time;

fn open() -> Result<Cache, Error> {
    Cache::open(Mode::Use, &|k| std::env::var(k).ok()).map_err(Error::Usage)
}

/// A table on stdout; file names and identities only, never a secret.
pub fn list() -> Result<String, Error> {
    let cache = open()?;
    let now = time::now();
    let home = std::env::var("HOME").unwrap_or_default();
    let mut rows = vec![[
        "KIND".to_string(),
        "EXPIRES IN".into(),
        "FOR".into(),
        "FILE".into(),
    ]];
    for e in cache.entries() {
        let left = match e.expires {
            Some(t) if t > now => remaining(t - now),
            Some(_) => "expired".into(),
            None => "?".into(),
        };
        rows.push([e.kind.into(), left, e.identity, tilde(&e.path, &home)]);
    }
    if rows.len() == 1 {
        return Ok(String::new());
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// Removes everything, or the entries of one target; returns what it did, for stderr.
pub fn clear(target: Option<&str>) -> Result<String, Error> {
    let cache = open()?;
    let removed = match target {
        None => {
            let entries = cache.entries();
            entries
                .iter()
                .filter(|e| cache.remove(&e.path).is_ok())
                .count()
        }
        Some(t) => {
            let req = Request::for_target(t)?;
            let profiles = load_profiles()?;
            let plan = resolve::plan(&req, &profiles, &config_files(), &|k| std::env::var(k).ok())?;
            let mut n = plan
                .hops
                .iter()
                .filter(|h| cache.remove(&cache.role_path(&key::role_key(h))).is_ok())
                .count();
            if let Source::Profile(p) | Source::StaticKeys(p) = &plan.source {
                let serials: Vec<&str> = plan
                    .hops
                    .iter()
                    .filter_map(|h| h.mfa_serial.as_deref())
                    .collect();
                for e in cache.entries().iter().filter(|e| e.kind == "mfa") {
                    let mine = serials.iter().any(|s| e.identity == format!("{p} ({s})"));
                    if mine && cache.remove(&e.path).is_ok() {
                        n += 1;
                    }
                }
            }
            n
        }
    };
    Ok(match (removed, target) {
        (0, Some(t)) => format!("nothing cached for {t}"),
        (0, None) => "nothing cached".into(),
        (n, Some(t)) => format!(
            "removed {n} cached entr{} for {t}",
            if n == 1 { "y" } else { "ies" }
        ),
        (n, None) => format!(
            "removed {n} cached entr{}",
            if n == 1 { "y" } else { "ies" }
        ),
    })
}

fn remaining(secs: i64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m")
    }
}

fn tilde(path: &Path, home: &str) -> String {
    let p = path.display().to_string();
    match p.strip_prefix(home) {
        Some(rest) if !home.is_empty() => format!("~{rest}"),
        _ => p,
    }
}
