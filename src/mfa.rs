//! Getting an MFA code: `--token-code`, else the profile's `mfa_process`, else a prompt on the
//! controlling terminal. The prompt never touches stdout or stdin, so it works inside
//! `eval "$(…)"`, after `| source`, and under credential_process.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use crate::error::Error;
use crate::helper;
use crate::validate;

const TRIES: usize = 3;

pub struct Need<'a> {
    pub serial: &'a str,
    /// The profile (or role ARN) that asks for MFA, for the prompt and messages.
    pub label: &'a str,
    pub process: Option<&'a str>,
    /// How long `process` may take.
    pub timeout: Duration,
}

pub fn code(need: &Need) -> Result<String, Error> {
    match need.process {
        Some(cmd) => from_process(cmd, need),
        None => prompt(need),
    }
}

fn from_process(cmd: &str, need: &Need) -> Result<String, Error> {
    let failed = |why: String| Error::Mfa(format!("mfa_process of {} failed: {why}", need.label));
    let out = helper::run(cmd, need.timeout).map_err(|e| failed(e.to_string()))?;
    let code = String::from_utf8_lossy(&out).trim().to_string();
    validate::token_code(&code)
        .map_err(|_| failed(format!("`{cmd}` did not print a 6-digit code")))?;
    Ok(code)
}

fn prompt(need: &Need) -> Result<String, Error> {
    let no_terminal = || Error::MfaNoTerminal {
        serial: need.serial.to_string(),
        profile: need.label.to_string(),
    };
    let tty = crate::tty::open().ok_or_else(no_terminal)?;
    let mut out = tty.try_clone().map_err(|_| no_terminal())?;
    let mut input = BufReader::new(tty);
    for attempt in 1..=TRIES {
        write!(out, "MFA code for {} ({}): ", need.serial, need.label)
            .map_err(|_| no_terminal())?;
        let _ = out.flush();
        let mut line = String::new();
        if input.read_line(&mut line).map_err(|_| no_terminal())? == 0 {
            let _ = writeln!(out);
            return Err(Error::Mfa(
                "the MFA prompt was closed without a code".into(),
            ));
        }
        let code = line.trim();
        if validate::token_code(code).is_ok() {
            return Ok(code.to_string());
        }
        if attempt < TRIES {
            let _ = writeln!(out, "That is not a 6-digit code; try again.");
        }
    }
    Err(Error::Mfa(format!(
        "no valid MFA code for {} after {TRIES} tries: type the 6 digits your device shows",
        need.serial
    )))
}
