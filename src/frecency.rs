//! How often and how recently each profile was assumed, for the picker's order, ranked as
//! zoxide ranks folders: a count per profile, weighted by how long ago it was last used, kept
//! in stsenv's data folder (0600), bounded and aged so that old habits fade. Knows nothing of
//! what a profile is.

use std::path::PathBuf;

use crate::env::Env;
use crate::fsutil::{ensure_private_dir, read_text, write_atomic_unsynced};

/// Past this sum of counts, every count shrinks (by the factor that brings the sum to 90% of
/// it) and those under 1 are forgotten: the file stays within about this many lines.
const MAX_AGE: f64 = 1000.0;
const FILE: &str = "frecency";
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frecency {
    /// (profile, count, last use in Unix seconds).
    entries: Vec<(String, f64, i64)>,
}

/// `$XDG_DATA_HOME/stsenv` (else `~/.local/share/stsenv`).
pub fn data_dir(env: &Env) -> Option<PathBuf> {
    let base = env
        .get("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| Some(env.home()?.join(".local").join("share")))?;
    Some(base.join("stsenv"))
}

impl Frecency {
    /// The counts kept, or none when there are none (or they can't be read: they only order
    /// a list).
    pub fn load(env: &Env) -> Frecency {
        let Some(dir) = data_dir(env) else {
            return Frecency::default();
        };
        let text = read_text(&dir.join(FILE), MAX_FILE_BYTES)
            .ok()
            .flatten()
            .unwrap_or_default();
        Frecency::parse(&text)
    }

    fn parse(text: &str) -> Frecency {
        let entries = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.splitn(3, '\t');
                let count: f64 = parts.next()?.parse().ok()?;
                let last: i64 = parts.next()?.parse().ok()?;
                let name = parts.next()?;
                (count.is_finite() && count > 0.0 && !name.is_empty())
                    .then(|| (name.to_string(), count, last))
            })
            .collect();
        Frecency { entries }
    }

    fn text(&self) -> String {
        self.entries
            .iter()
            .map(|(n, c, l)| format!("{c}\t{l}\t{n}\n"))
            .collect()
    }

    /// `name` used at `now`: its count goes up by one; past the bound, every count ages.
    pub fn bump(&mut self, name: &str, now: i64) {
        match self.entries.iter_mut().find(|(n, _, _)| n == name) {
            Some(e) => {
                e.1 += 1.0;
                e.2 = now;
            }
            None => self.entries.push((name.to_string(), 1.0, now)),
        }
        let sum: f64 = self.entries.iter().map(|(_, c, _)| c).sum();
        if sum > MAX_AGE {
            let factor = 0.9 * MAX_AGE / sum;
            for e in &mut self.entries {
                e.1 *= factor;
            }
            self.entries.retain(|(_, c, _)| *c >= 1.0);
        }
    }

    /// zoxide's score: the count, weighed up for a use within the hour (×4) or the day (×2),
    /// down for one within the week (×½) or older (×¼).
    pub fn score(&self, name: &str, now: i64) -> f64 {
        let Some((_, count, last)) = self.entries.iter().find(|(n, _, _)| n == name) else {
            return 0.0;
        };
        let age = now - last;
        let weight = match age {
            a if a < 3600 => 4.0,
            a if a < 86_400 => 2.0,
            a if a < 7 * 86_400 => 0.5,
            _ => 0.25,
        };
        count * weight
    }

    /// The names it knows, with their score.
    pub fn scores(&self, now: i64) -> std::collections::HashMap<&str, f64> {
        self.entries
            .iter()
            .map(|(n, _, _)| (n.as_str(), self.score(n, now)))
            .collect()
    }
}

/// Counts one use of profile `name` now. Best effort: a count that can't be kept only
/// changes the picker's order, so nothing is said; a name that can't be one line is not kept.
pub fn record(env: &Env, name: &str) {
    if name.contains(['\n', '\r', '\t']) {
        return;
    }
    let Some(dir) = data_dir(env) else { return };
    if ensure_private_dir(&dir).is_err() {
        return;
    }
    let mut f = Frecency::load(env);
    f.bump(name, crate::time::now());
    let _ = write_atomic_unsynced(&dir, FILE, &f.text());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn often_and_recent_rank_first_and_old_counts_fade() {
        let now = 1_800_000_000;
        let mut f = Frecency::default();
        for _ in 0..3 {
            f.bump("often", now - 2 * 86_400);
        }
        f.bump("recent", now - 60);
        assert_eq!(f.score("often", now), 1.5, "3 uses two days ago: ×½");
        assert_eq!(f.score("recent", now), 4.0, "1 use a minute ago: ×4");
        assert_eq!(f.score("never", now), 0.0);
        assert_eq!(Frecency::parse(&f.text()), f, "kept as it was");
        // The bound: counts age as the sum passes it, and the file stays small.
        for i in 0..5000 {
            f.bump(&format!("p{i}"), now);
        }
        assert!(f.entries.len() <= MAX_AGE as usize, "{}", f.entries.len());
        assert!(f.entries.iter().map(|(_, c, _)| c).sum::<f64>() <= MAX_AGE + 1.0);
        // Garbage lines are passed over.
        let g = Frecency::parse("x\tnot\tmany\n2\t100\tok\n-1\t5\tneg\n");
        assert_eq!(g.entries, vec![("ok".to_string(), 2.0, 100)]);
    }
}
