//! `stsenv completions <shell>`: the shell's registration script, which calls stsenv back at
//! each TAB (answered in `cli`, from the same clap definition as the parser).

use crate::cmd::Output;
use crate::shell::CompletionShell;

pub fn run(shell: CompletionShell) -> Output {
    Output::Text(shell.0.completion("stsenv").unwrap_or_default())
}
