//! `stsenv clear`: the statements that unset every variable `assume` sets.

use crate::cmd::Output;
use crate::error::Error;
use crate::session;
use crate::shell::Dialect;

pub fn run(shell: Dialect) -> Result<Output, Error> {
    match shell.render(&session::clear()) {
        Some(text) => Ok(Output::Text(text?)),
        None => Err(Error::Usage(
            "`stsenv clear` has nothing to print as json".into(),
        )),
    }
}
