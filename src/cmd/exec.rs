//! `stsenv exec <TARGET> -- <cmd>`: the credentials go straight into the command's
//! environment, with the same variables set and unset as `assume`. On Unix stsenv replaces
//! itself with the command, so its exit status and signals are the command's own.

use std::process::Command;

use crate::cli::ExecArgs;
use crate::cmd::Output;
use crate::engine;
use crate::error::Error;

/// Returns only on failure (on Unix) or with the command's exit code (elsewhere).
pub fn run(args: &ExecArgs) -> Result<Output, Error> {
    let req = super::request(&args.opts.target, &args.opts.flags)?;
    let session = engine::obtain(&req)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::Usage("give the command to run after `--`".into()))?;
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
        Err(cannot(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(cannot)?;
        Ok(Output::Exit(status.code().unwrap_or(1)))
    }
}
