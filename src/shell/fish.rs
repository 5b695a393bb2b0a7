//! fish: inside single quotes both `\` and `'` are escapes, so POSIX quoting is wrong here.

use super::{Def, Syntax};

pub struct Fish;

pub static FISH: Def = Def {
    name: "fish",
    aliases: &[],
    processes: &["fish"],
    syntax: Some(&Fish),
    hook: Some(include_str!("../../shell/hook.fish")),
    completer: Some(&clap_complete::env::Fish),
};

impl Syntax for Fish {
    fn quote(&self, value: &str) -> String {
        quote(value)
    }

    fn set(&self, name: &str, value: &str) -> Result<String, &'static str> {
        Ok(format!("set -gx {name} {};", quote(value)))
    }

    // `set -e` of a variable that isn't set fails, and fish's `set` passes the last status
    // along instead of resetting it, so without `or true` the whole `| source` would fail.
    fn unset(&self, name: &str) -> Option<String> {
        Some(format!("set -e {name}; or true;"))
    }

    fn fail(&self) -> Option<&'static str> {
        Some("false")
    }

    fn apply_hint(&self, cmdline: &str) -> Option<String> {
        Some(format!(
            "to apply this to your shell, run: {cmdline} | source"
        ))
    }
}

pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_backslash_and_quote() {
        assert_eq!(super::quote(r"a\b'c\"), r"'a\\b\'c\\'");
    }
}
