//! `stsenv clear`: the statements that unset every variable `assume` sets.

use crate::cmd::Output;
use crate::error::Error;
use crate::session;
use crate::shell::{self, Shell};

pub fn run(shell: Shell) -> Result<Output, Error> {
    match shell.syntax() {
        Some(syntax) => Ok(Output::Text(shell::render(syntax, &session::clear())?)),
        None => Err(Error::Usage(
            "`stsenv clear` has nothing to print as json".into(),
        )),
    }
}
