//! The shells stsenv speaks, as one table: each shell's file holds its syntax, its hook, its
//! completion generator and the process names that detect it, and registers them in
//! `SHELLS`; `--shell`, `init`, `completions` and detection all read the table. The output
//! formats that are not shells (dotenv, json) are apart. A new shell is one syntax file, one
//! hook script in `shell/`, and one line in `SHELLS`.

mod detect;
mod dotenv;
mod elvish;
mod fish;
mod json;
mod nu;
mod posix;
mod pwsh;

use std::sync::OnceLock;

use clap::builder::PossibleValue;
use clap::ValueEnum;
use clap_complete::env::EnvCompleter;

use crate::error::Error;
use crate::session::{EnvChange, Session};

pub use detect::{detect, from_name};
pub use posix::{
    quote as quote_posix, quote_word as quote_posix_word, split_words as split_posix_words,
};

/// The variable through which the shells' completion scripts call stsenv back.
pub const COMPLETE_VAR: &str = "STSENV_COMPLETE";

/// Every shell, in the order `--help` lists them.
static SHELLS: [&Def; 7] = [
    &posix::BASH,
    &posix::ZSH,
    &posix::SH,
    &fish::FISH,
    &pwsh::POWERSHELL,
    &nu::NU,
    &elvish::ELVISH,
];

/// What stsenv knows of one shell.
pub struct Def {
    /// The name `--shell`, `init` and `completions` take.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The names its process goes by (`/proc/<pid>/comm`, `ps -o comm`), to detect it.
    pub processes: &'static [&'static str],
    /// How it sets and unsets variables; None for a shell stsenv only completes for.
    pub syntax: Option<&'static (dyn Syntax + Sync)>,
    /// The script `stsenv init` prints, with its placeholders still to fill in.
    pub hook: Option<&'static str>,
    /// Its tab completion, calling stsenv back at each TAB.
    pub completer: Option<&'static (dyn EnvCompleter + Sync)>,
}

/// A shell of the table.
#[derive(Clone, Copy)]
pub struct Shell(&'static Def);

impl PartialEq for Shell {
    fn eq(&self, other: &Shell) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Shell {}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Shell {
    pub const BASH: Shell = Shell(&posix::BASH);
    pub const ZSH: Shell = Shell(&posix::ZSH);
    pub const SH: Shell = Shell(&posix::SH);
    pub const FISH: Shell = Shell(&fish::FISH);
    pub const POWERSHELL: Shell = Shell(&pwsh::POWERSHELL);
    pub const NU: Shell = Shell(&nu::NU);

    /// Every shell of the table.
    pub fn all() -> impl Iterator<Item = Shell> {
        SHELLS.iter().map(|d| Shell(d))
    }

    /// The shell a name or alias means.
    pub fn named(name: &str) -> Option<Shell> {
        Shell::all().find(|s| s.0.name == name || s.0.aliases.contains(&name))
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn def(self) -> &'static Def {
        self.0
    }

    /// How it sets variables; every shell `--shell` takes has one.
    pub fn syntax(self) -> Option<&'static (dyn Syntax + Sync)> {
        self.0.syntax
    }

    pub fn hook(self) -> Option<&'static str> {
        self.0.hook
    }

    /// The script that registers completion for `stsenv`, calling `completer` (a command
    /// name or path) back at each TAB.
    pub fn completion(self, completer: &str) -> Option<String> {
        let mut buf = Vec::new();
        self.0
            .completer?
            .write_registration(COMPLETE_VAR, "stsenv", "stsenv", completer, &mut buf)
            .ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// Every completion generator of the table, for answering a shell's completion request (the
/// run ends right after, so the list is simply kept).
pub fn completers() -> &'static [&'static dyn EnvCompleter] {
    Shell::all()
        .filter_map(|s| s.0.completer)
        .map(|c| c as &'static dyn EnvCompleter)
        .collect::<Vec<_>>()
        .leak()
}

/// What `--shell` names: a shell, or one of the formats that are not shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Shell(Shell),
    /// KEY=value lines for `docker --env-file`.
    Dotenv,
    /// The credential_process format.
    Json,
}

impl From<Shell> for Dialect {
    fn from(s: Shell) -> Dialect {
        Dialect::Shell(s)
    }
}

impl Dialect {
    fn syntax(self) -> Option<&'static (dyn Syntax + Sync)> {
        match self {
            Dialect::Shell(s) => s.syntax(),
            Dialect::Dotenv => Some(&dotenv::Dotenv),
            Dialect::Json => None,
        }
    }

    /// The statement to print on failure, if any.
    pub fn fail(self) -> Option<&'static str> {
        self.syntax().and_then(|s| s.fail())
    }

    /// How to apply the output of `cmdline`, for a person at a terminal.
    pub fn apply_hint(self, cmdline: &str) -> Option<String> {
        self.syntax().and_then(|s| s.apply_hint(cmdline))
    }

    /// The text that hands `session` to this shell or format.
    pub fn render_session(self, session: &Session) -> Result<String, Error> {
        match self.syntax() {
            Some(syntax) => render(syntax, &session.env()),
            None => json::render(session),
        }
    }

    /// The text that applies `change`; None for a format that can't say it (json).
    pub fn render(self, change: &EnvChange) -> Option<Result<String, Error>> {
        self.syntax().map(|s| render(s, change))
    }
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
    /// The whole change (no value holds a NUL): by default one statement per variable,
    /// unsets first, then sets, joined by `separator`. The last statement is then a set,
    /// whose success is the status that fish's `source` and PowerShell's
    /// Invoke-Expression report.
    fn render(&self, change: &EnvChange) -> Result<String, Error> {
        let mut lines = Vec::new();
        for (name, _) in change.iter().filter(|(_, v)| v.is_none()) {
            if let Some(line) = self.unset(name) {
                lines.push(line);
            }
        }
        for (name, value) in change.iter().filter(|(_, v)| v.is_some()) {
            let line = self
                .set(name, value.as_deref().unwrap_or_default())
                .map_err(|why| Error::Unrenderable { name, why })?;
            lines.push(line);
        }
        let mut out = lines.join(self.separator());
        if !out.is_empty() {
            out.push('\n');
        }
        Ok(out)
    }
}

/// The text that applies `change` in `syntax`; a value holding a NUL is refused.
pub fn render(syntax: &(dyn Syntax + Sync), change: &EnvChange) -> Result<String, Error> {
    for (name, value) in change {
        debug_assert!(valid_name(name));
        if value.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(Error::Unrenderable {
                name,
                why: "it contains a NUL byte, which no environment variable can hold",
            });
        }
    }
    syntax.render(change)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The values clap offers for one choice of shells, from the table.
fn possible(def: &Def) -> PossibleValue {
    PossibleValue::new(def.name).aliases(def.aliases.iter().copied())
}

/// A table-driven clap value: the shells that have `has`.
macro_rules! shell_choice {
    ($(#[$doc:meta])* $name:ident, $has:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub Shell);

        impl ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                static ALL: OnceLock<Vec<$name>> = OnceLock::new();
                ALL.get_or_init(|| {
                    let has: fn(&Def) -> bool = $has;
                    Shell::all().filter(|s| has(s.0)).map($name).collect()
                })
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(possible(self.0 .0))
            }
        }
    };
}

shell_choice!(
    /// The shells `stsenv init` has a hook for.
    InitShell,
    |d| d.hook.is_some() && d.syntax.is_some()
);
shell_choice!(
    /// The shells `stsenv completions` has completion for.
    CompletionShell,
    |d| d.completer.is_some()
);

impl ValueEnum for Dialect {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<Dialect>> = OnceLock::new();
        ALL.get_or_init(|| {
            Shell::all()
                .filter(|s| s.0.syntax.is_some())
                .map(Dialect::Shell)
                .chain([Dialect::Dotenv, Dialect::Json])
                .collect()
        })
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Dialect::Shell(s) => possible(s.0),
            Dialect::Dotenv => {
                PossibleValue::new("dotenv").help("KEY=value lines for `docker --env-file`")
            }
            Dialect::Json => PossibleValue::new("json").help("The credential_process format"),
        })
    }
}
