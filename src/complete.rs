//! Tab completion. `stsenv completions <shell>` prints clap_complete's registration script,
//! which calls back into stsenv (with STSENV_COMPLETE set) at each TAB; the answers then come
//! from the same clap definition as the parser, plus the profile names read from the config
//! files at that moment, so a profile added a minute ago completes.

use clap::{CommandFactory, ValueEnum};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::{CompleteEnv, CompletionCandidate};

use crate::cli::Cli;

pub const VAR: &str = "STSENV_COMPLETE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
    Elvish,
}

impl CompletionShell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Self::Bash => &Bash,
            Self::Zsh => &Zsh,
            Self::Fish => &Fish,
            Self::Powershell => &Powershell,
            Self::Elvish => &Elvish,
        }
    }
}

/// Answers a completion request and exits, when the shell's script made one.
pub fn answer_if_asked() {
    if std::env::var_os(VAR).is_some() {
        CompleteEnv::with_factory(Cli::command).var(VAR).complete();
    }
}

/// The script that registers completion for `stsenv`, calling `completer` (a command name or
/// path) back at each TAB.
pub fn registration(shell: CompletionShell, completer: &str) -> String {
    let mut buf = Vec::new();
    shell
        .completer()
        .write_registration(VAR, "stsenv", "stsenv", completer, &mut buf)
        .expect("writing to memory");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Profile names, with the role ARN as the description where there is one.
pub fn profile_candidates() -> Vec<CompletionCandidate> {
    let Ok(set) = crate::assume::load_profiles() else {
        return Vec::new();
    };
    crate::profiles::rows(&set)
        .into_iter()
        .map(|r| {
            let help = r.role_arn.map(|a| a.to_string().into());
            CompletionCandidate::new(r.name).help(help)
        })
        .collect()
}
