//! Rendering an environment change for a shell. Each syntax lives in one file; adding a shell
//! means one more `Syntax` and one more hook script.

mod detect;
mod dotenv;
mod fish;
mod json;
mod posix;
mod pwsh;

use clap::ValueEnum;

use crate::error::Error;
use crate::session::{EnvChange, Session};

pub use detect::detect;
pub use posix::{
    quote as quote_posix, quote_word as quote_posix_word, split_words as split_posix_words,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Sh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
    /// KEY=value lines for `docker --env-file`
    Dotenv,
    /// The credential_process format
    Json,
}

/// How one shell writes "set this variable" and "unset that one".
pub trait Syntax {
    /// `value` as one literal word (or string) of this syntax.
    fn quote(&self, value: &str) -> String;
    /// A statement that sets `name` to exactly `value`, or why that can't be written.
    fn set(&self, name: &str, value: &str) -> Result<String, &'static str>;
    /// A statement that unsets `name`; `None` where the format can't express it.
    fn unset(&self, name: &str) -> Option<String>;
    /// What stdout holds after a failure, so that the caller's eval fails too.
    fn fail(&self) -> Option<&'static str>;
    /// How to apply the output of `cmdline`, shown when stdout is a terminal.
    fn apply_hint(&self, cmdline: &str) -> Option<String>;
    /// What goes between two statements.
    fn separator(&self) -> &'static str {
        "\n"
    }
}

impl Shell {
    pub fn syntax(self) -> Option<&'static dyn Syntax> {
        match self {
            Shell::Bash | Shell::Zsh | Shell::Sh => Some(&posix::Posix),
            Shell::Fish => Some(&fish::Fish),
            Shell::Powershell => Some(&pwsh::Pwsh),
            Shell::Dotenv => Some(&dotenv::Dotenv),
            Shell::Json => None,
        }
    }

    /// The script `stsenv init` prints, with `@STSENV@` still to fill in.
    pub fn hook(self) -> Option<&'static str> {
        match self {
            Shell::Bash => Some(include_str!("../../shell/hook.bash")),
            Shell::Zsh => Some(include_str!("../../shell/hook.zsh")),
            Shell::Fish => Some(include_str!("../../shell/hook.fish")),
            Shell::Powershell => Some(include_str!("../../shell/hook.ps1")),
            Shell::Sh | Shell::Dotenv | Shell::Json => None,
        }
    }

    /// The statement to print on failure, if any.
    pub fn fail(self) -> Option<&'static str> {
        self.syntax().and_then(|s| s.fail())
    }

    /// The text that hands `session` to this shell.
    pub fn render_session(self, session: &Session) -> Result<String, Error> {
        match self.syntax() {
            Some(syntax) => render(syntax, &session.env()),
            None => json::render(session),
        }
    }
}

/// Unsets first, then sets: the last statement is then a set, whose success is the status
/// that fish's `source` and PowerShell's Invoke-Expression report.
pub fn render(syntax: &dyn Syntax, change: &EnvChange) -> Result<String, Error> {
    let mut lines = Vec::new();
    let unsets = change.iter().filter(|(_, v)| v.is_none());
    let sets = change.iter().filter(|(_, v)| v.is_some());
    for (name, _) in unsets {
        debug_assert!(valid_name(name));
        if let Some(line) = syntax.unset(name) {
            lines.push(line);
        }
    }
    for (name, value) in sets {
        debug_assert!(valid_name(name));
        let value = value.as_deref().unwrap_or_default();
        if value.contains('\0') {
            return Err(Error::Unrenderable {
                name,
                why: "it contains a NUL byte, which no environment variable can hold",
            });
        }
        let line = syntax
            .set(name, value)
            .map_err(|why| Error::Unrenderable { name, why })?;
        lines.push(line);
    }
    let mut out = lines.join(syntax.separator());
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}
