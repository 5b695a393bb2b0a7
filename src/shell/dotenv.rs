//! `KEY=value` lines as `docker --env-file` reads them: no quoting at all, so a value that
//! can't be written verbatim on one line is refused.

use super::Syntax;

pub struct Dotenv;

impl Syntax for Dotenv {
    fn quote(&self, value: &str) -> String {
        value.to_string()
    }

    fn set(&self, name: &str, value: &str) -> Result<String, &'static str> {
        if value.contains(['\n', '\r']) {
            return Err("dotenv has no quoting and the value contains a line break");
        }
        Ok(format!("{name}={value}"))
    }

    // A bare `NAME` line would make docker copy the caller's value: the opposite of unset.
    fn unset(&self, _name: &str) -> Option<String> {
        None
    }

    fn fail(&self) -> Option<&'static str> {
        None
    }

    fn apply_hint(&self, _cmdline: &str) -> Option<String> {
        None
    }
}
