//! nushell: it can't eval text, so the change is data: one JSON record, a string for each
//! variable to set and null for each to remove, that `from json | load-env` applies as it is
//! (nu passes no null variable to the commands it starts) and the hook applies exactly
//! (`hide-env` for the nulls). JSON also fails whole: a cut-off record doesn't parse.
//!
//! Its tab completion is `NuCompleter`, on clap_complete's env mechanism like the other
//! shells'. The `clap_complete_nushell` crate was not used: it only generates a static
//! script of `extern`s, which can't complete live profile names (it ignores
//! `ArgValueCandidates`), and clap_complete has no env completer for nu.

use std::ffi::OsString;
use std::io::Write;

use clap_complete::env::EnvCompleter;

use super::{Def, Syntax};
use crate::error::Error;
use crate::session::EnvChange;

pub struct Nu;

pub static NU: Def = Def {
    name: "nu",
    aliases: &["nushell"],
    processes: &["nu"],
    syntax: Some(&Nu),
    hook: Some(include_str!("../../shell/hook.nu")),
    completer: Some(&NuCompleter),
};

impl Syntax for Nu {
    /// A nu string literal, for the hook's text (the binary's path).
    fn quote(&self, value: &str) -> String {
        quote(value)
    }

    /// One member of the record.
    fn set(&self, name: &str, value: &str) -> Result<String, &'static str> {
        Ok(format!("{}: {}", json(name), json(value)))
    }

    fn unset(&self, name: &str) -> Option<String> {
        Some(format!("{}: null", json(name)))
    }

    /// Nothing: `"" | from json` is nothing, which `load-env` refuses, and the hook stops at
    /// stsenv's exit status before that. Any word would do harm: nu's lenient `from json`
    /// reads most text as a string.
    fn fail(&self) -> Option<&'static str> {
        None
    }

    fn apply_hint(&self, cmdline: &str) -> Option<String> {
        Some(format!(
            "to apply this to your shell, run: {cmdline} | from json | load-env"
        ))
    }

    /// The whole change as one record, one member per line in the change's order, `{}` when
    /// empty.
    fn render(&self, change: &EnvChange) -> Result<String, Error> {
        let mut members = Vec::with_capacity(change.len());
        for (name, value) in change {
            // nu keeps the last of two equal keys without a word.
            debug_assert!(
                change.iter().filter(|(n, _)| n == name).count() == 1,
                "{name} twice in one change"
            );
            members.push(match value {
                Some(v) => self
                    .set(name, v)
                    .map_err(|why| Error::Unrenderable { name, why })?,
                None => format!("{}: null", json(name)),
            });
        }
        if members.is_empty() {
            return Ok("{}\n".into());
        }
        Ok(format!("{{\n  {}\n}}\n", members.join(",\n  ")))
    }
}

/// A JSON string, as serde_json writes it: `"` `\` and control characters escaped, the rest
/// (DEL and all non-ASCII included) as it is.
fn json(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A nu string literal for `s` that nu reads back exactly and never interpolates: single
/// quotes when `s` holds none (nu has no escapes inside them), else a raw string `r#'…'#`
/// with one `#` more than the longest run of `#` after any `'` in `s`, so that its end can't
/// occur inside.
pub fn quote(s: &str) -> String {
    if !s.contains('\'') {
        return format!("'{s}'");
    }
    let longest = s
        .match_indices('\'')
        .map(|(i, _)| s[i + 1..].bytes().take_while(|&b| b == b'#').count())
        .max()
        .unwrap_or(0);
    let hashes = "#".repeat(longest + 1);
    format!("r{hashes}'{s}'{hashes}")
}

/// clap_complete's env completion for nu (0.108 or later, for `@complete`): the registration
/// declares `extern BIN [...args]` with a command-wide completer that calls stsenv back with
/// VAR=nu and nu's own words for the line; the answer is a JSON list of `{value,
/// description}` records, which nu shows as they are (JSON, so no tab or newline in a help
/// text can break it).
pub struct NuCompleter;

impl EnvCompleter for NuCompleter {
    fn name(&self) -> &'static str {
        "nu"
    }

    fn is(&self, name: &str) -> bool {
        NU.name == name || NU.aliases.contains(&name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn Write,
    ) -> Result<(), std::io::Error> {
        let function = quote(&format!("nu-complete {name}"));
        writeln!(
            buf,
            "def {function} [spans: list<string>] {{\n    {var}=nu ^{} -- ...$spans | from json\n}}\n\n@complete {function}\nextern {} [...args]",
            quote(completer),
            quote(bin),
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn Write,
    ) -> Result<(), std::io::Error> {
        let index = args.len().saturating_sub(1);
        let candidates = clap_complete::engine::complete(cmd, args, index, current_dir)?;
        let list: Vec<serde_json::Value> = candidates
            .iter()
            .map(|c| {
                let mut record = serde_json::Map::new();
                let value = c.get_value().to_string_lossy().into_owned();
                record.insert("value".into(), value.into());
                if let Some(help) = c.get_help() {
                    let help = help.to_string();
                    let first = help.lines().next().unwrap_or_default();
                    record.insert("description".into(), first.into());
                }
                record.into()
            })
            .collect();
        writeln!(buf, "{}", serde_json::Value::from(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_with_single_quotes_or_a_raw_string_long_enough() {
        assert_eq!(quote("/usr/bin/stsenv"), "'/usr/bin/stsenv'");
        assert_eq!(quote(r#"a "b" $c (d) \e"#), r#"'a "b" $c (d) \e'"#);
        assert_eq!(quote("it's"), "r#'it's'#");
        assert_eq!(quote("a'#b'##"), "r###'a'#b'##'###");
        assert_eq!(quote("x'"), "r#'x''#");
    }

    #[test]
    fn renders_one_record_with_nulls_for_removals() {
        let change: EnvChange = vec![
            ("AWS_PROFILE", None),
            ("AWS_ACCESS_KEY_ID", Some("a\"b\\c\n".into())),
        ];
        assert_eq!(
            Nu.render(&change).unwrap(),
            "{\n  \"AWS_PROFILE\": null,\n  \"AWS_ACCESS_KEY_ID\": \"a\\\"b\\\\c\\n\"\n}\n"
        );
        assert_eq!(Nu.render(&Vec::new()).unwrap(), "{}\n");
    }
}
