//! `stsenv completions <shell>`: clap_complete's registration script, which calls stsenv
//! back at each TAB (answered in `cli`, from the same clap definition as the parser).

use crate::cli::CompletionShell;
use crate::cmd::Output;

pub fn run(shell: CompletionShell) -> Output {
    Output::Text(shell.registration("stsenv"))
}
