//! `stsenv cache list` and `stsenv cache clear`.

use std::path::Path;

use crate::cache::{Cache, Mode};
use crate::cli::CacheAction;
use crate::cmd::{table, Output};
use crate::context::Context;
use crate::engine::{self, Request};
use crate::error::{say, Error};
use crate::time;

pub fn run(ctx: &Context, action: CacheAction) -> Result<Output, Error> {
    let cache = Cache::open(Mode::Use, ctx.env()).map_err(Error::Usage)?;
    match action {
        CacheAction::List => {
            let text = list(ctx, &cache);
            if text.is_empty() {
                say("nothing cached");
            }
            Ok(Output::Text(text))
        }
        CacheAction::Clear { target } => {
            say(&clear(ctx, &cache, target.as_deref())?);
            Ok(Output::Text(String::new()))
        }
    }
}

/// A table; file names and identities only, never a secret.
fn list(ctx: &Context, cache: &Cache) -> String {
    let now = time::now();
    let home = ctx.env().var("HOME").unwrap_or_default();
    let mut rows = vec![["KIND", "EXPIRES IN", "FOR", "FILE"]
        .map(String::from)
        .to_vec()];
    for e in cache.entries() {
        let left = match e.expires {
            Some(t) if t > now => remaining(t - now),
            Some(_) => "expired".into(),
            None => "?".into(),
        };
        rows.push(vec![
            e.kind().into(),
            left,
            e.identity(),
            tilde(&e.location, &home),
        ]);
    }
    if rows.len() == 1 {
        return String::new();
    }
    table(&rows)
}

/// Removes everything, or the entries of one target; returns what it did, for stderr.
fn clear(ctx: &Context, cache: &Cache, target: Option<&str>) -> Result<String, Error> {
    let removed = match target {
        None => cache
            .entries()
            .iter()
            .filter(|e| cache.remove_entry(e))
            .count(),
        Some(t) => engine::plan(ctx, Request::new(t)?)?.forget(cache),
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
