//! `stsenv exec <TARGET> [-- <cmd>]`: the credentials go straight into the command's (or
//! `$SHELL`'s) environment, with the same variables set and unset as `assume`. On Unix stsenv
//! replaces itself with the command, so its exit status and signals are the command's own.

use std::process::Command;

use crate::cli::ExecArgs;
use crate::cmd::Output;
use crate::engine;
use crate::error::Error;

/// Returns only on failure (on Unix) or with the command's exit code (elsewhere).
pub fn run(args: &ExecArgs) -> Result<Output, Error> {
    let req = super::request(&args.opts)?;
    let session = engine::obtain(&req)?;
    let argv = command_line(&args.command);
    let (program, rest) = argv.split_first().expect("command_line is never empty");
    let mut cmd = Command::new(program);
    cmd.args(rest);
    for (name, value) in session.env() {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    let cannot = |source: std::io::Error| Error::Exec {
        program: program.clone(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit only, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                crate::guard::restore_core_limit();
                Ok(())
            });
        }
        Err(cannot(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(cannot)?;
        Ok(Output::Exit(status.code().unwrap_or(1)))
    }
}

/// The command as given, or the user's shell: a sub-shell with the credentials, as aws-vault
/// starts one.
fn command_line(command: &[String]) -> Vec<String> {
    if !command.is_empty() {
        return command.to_vec();
    }
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    vec![shell]
}
