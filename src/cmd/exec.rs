//! `stsenv exec <TARGET> [-- <cmd>]`: runs the command (or `$SHELL`) with the credentials.
//! Plain, they go straight into its environment (the variables `assume` sets and unsets) and
//! stsenv replaces itself with it on Unix; with `--server`, stsenv stays its parent and
//! serves it refreshing credentials (see `server`).

use crate::cli::ExecArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine;
use crate::error::Error;
use crate::server;

/// Returns only on failure (plain, on Unix) or with the command's exit status.
pub fn run(ctx: &Context, args: &ExecArgs) -> Result<Output, Error> {
    let req = super::request(&super::target_of(ctx, &args.opts)?, &args.opts.flags)?;
    let argv = command_line(ctx, &args.command);
    let planned = engine::plan(ctx, req)?;
    if args.server {
        super::used(ctx, planned.request());
        return server::run(ctx, planned, &argv).map(Output::Exit);
    }
    let session = planned.obtain()?;
    super::used(ctx, planned.request());
    let program = &argv[0];
    let mut cmd = crate::helper::user_command(&argv, &session.env());
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

/// The command as given, or the user's shell: a sub-shell with the credentials, as aws-vault
/// starts one.
fn command_line(ctx: &Context, command: &[String]) -> Vec<String> {
    if !command.is_empty() {
        return command.to_vec();
    }
    vec![ctx.env().var("SHELL").unwrap_or_else(|| "/bin/sh".into())]
}
