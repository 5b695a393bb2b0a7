//! `stsenv cache list` and `stsenv cache clear`.

use std::path::Path;

use crate::aws_files::{config_files, load_profiles};
use crate::cache::{Cache, Mode};
use crate::cli::CacheAction;
use crate::cmd::{table, Output};
use crate::engine::chain::Source;
use crate::engine::{plan, Request};
use crate::error::{say, Error};
use crate::time;

pub fn run(action: CacheAction) -> Result<Output, Error> {
    let cache = Cache::open(Mode::Use, &|k| std::env::var(k).ok()).map_err(Error::Usage)?;
    match action {
        CacheAction::List => {
            let text = list(&cache);
            if text.is_empty() {
                say("nothing cached");
            }
            Ok(Output::Text(text))
        }
        CacheAction::Clear { target } => {
            say(&clear(&cache, target.as_deref())?);
            Ok(Output::Text(String::new()))
        }
    }
}

/// A table; file names and identities only, never a secret.
fn list(cache: &Cache) -> String {
    let now = time::now();
    let home = std::env::var("HOME").unwrap_or_default();
    let mut rows = vec![["KIND", "EXPIRES IN", "FOR", "FILE"]
        .map(String::from)
        .to_vec()];
    for e in cache.entries() {
        let left = match e.expires {
            Some(t) if t > now => remaining(t - now),
            Some(_) => "expired".into(),
            None => "?".into(),
        };
        rows.push(vec![e.kind.into(), left, e.identity, tilde(&e.path, &home)]);
    }
    if rows.len() == 1 {
        return String::new();
    }
    table(&rows)
}

/// Removes everything, or the entries of one target; returns what it did, for stderr.
fn clear(cache: &Cache, target: Option<&str>) -> Result<String, Error> {
    let removed = match target {
        None => {
            let entries = cache.entries();
            entries
                .iter()
                .filter(|e| cache.remove(&e.path).is_ok())
                .count()
        }
        Some(t) => {
            let req = Request::new(t)?;
            let profiles = load_profiles()?;
            let plan = plan::plan(&req, &profiles, &config_files(), &|k| std::env::var(k).ok())?;
            let mut n = plan
                .cache_keys()
                .iter()
                .filter(|key| cache.remove(&cache.role_path(key)).is_ok())
                .count();
            if let Source::Profile(p) | Source::StaticKeys(p) = &plan.source {
                let serials: Vec<&str> = plan
                    .hops
                    .iter()
                    .filter_map(|h| h.call.mfa_serial.as_deref())
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
    let entries = |n: usize| format!("{n} cached entr{}", if n == 1 { "y" } else { "ies" });
    Ok(match (removed, target) {
        (0, Some(t)) => format!("nothing cached for {t}"),
        (0, None) => "nothing cached".into(),
        (n, Some(t)) => format!("removed {} for {t}", entries(n)),
        (n, None) => format!("removed {}", entries(n)),
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
