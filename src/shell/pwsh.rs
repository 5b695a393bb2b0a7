//! PowerShell: `$Env:` assignments with verbatim single-quoted strings.

use super::{Def, Syntax};

pub struct Pwsh;

pub static POWERSHELL: Def = Def {
    name: "powershell",
    aliases: &["pwsh"],
    processes: &["pwsh", "powershell"],
    syntax: Some(&Pwsh),
    hook: Some(include_str!("../../shell/hook.ps1")),
    completer: Some(&clap_complete::env::Powershell),
};

/// PowerShell's tokenizer treats all of these as a single quote, so each must be doubled.
pub const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

impl Syntax for Pwsh {
    fn quote(&self, value: &str) -> String {
        quote(value)
    }

    fn set(&self, name: &str, value: &str) -> Result<String, &'static str> {
        Ok(format!("$Env:{name} = {}", quote(value)))
    }

    fn unset(&self, name: &str) -> Option<String> {
        Some(format!(
            "Remove-Item Env:{name} -ErrorAction SilentlyContinue"
        ))
    }

    // PowerShell has no `false` that stops Invoke-Expression; a throw does.
    fn fail(&self) -> Option<&'static str> {
        Some("throw 'stsenv failed: see the error above'")
    }

    fn apply_hint(&self, cmdline: &str) -> Option<String> {
        Some(format!(
            "to apply this to your shell, run: {cmdline} | Out-String | Invoke-Expression"
        ))
    }
}

pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles_every_kind_of_single_quote() {
        assert_eq!(super::quote("a'b\u{2019}c"), "'a''b\u{2019}\u{2019}c'");
    }
}
