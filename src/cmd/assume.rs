//! `stsenv assume`: the request from the command line, the engine, and the statements for
//! the shell (or, with `--write-profile`, a section of the credentials file).

use crate::cli::AssumeArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::credentials_file;
use crate::engine;
use crate::error::{say, Error};
use crate::shell::Dialect;

pub fn run(ctx: &Context, args: &AssumeArgs, shell: Dialect) -> Result<Output, Error> {
    let req = super::request(&super::target_of(ctx, &args.opts)?, &args.opts.flags)?;
    let planned = engine::plan(ctx, req)?;
    let req = planned.request();
    if let Some(name) = &args.write_profile {
        credentials_file::check_profile_name(name)?;
        let chain = planned.source_profiles();
        if !args.force {
            // Said before any request; the write checks again under its lock.
            credentials_file::check_target(ctx.env(), name, &chain)?;
        }
        let session = planned.obtain()?;
        super::used(ctx, req);
        let path = credentials_file::write_profile(
            ctx.env(),
            name,
            &session.credentials,
            &chain,
            args.force,
        )?;
        let until = session
            .credentials
            .expires
            .map(|e| format!(", valid until {}", crate::time::rfc3339(e)))
            .unwrap_or_default();
        say(&format!(
            "wrote the credentials of {} to profile [{name}] in {}{until}; use them with `aws --profile {name} …`",
            req.target_text,
            path.display()
        ));
        return Ok(Output::Text(String::new()));
    }
    let session = planned.obtain()?;
    super::used(ctx, req);
    super::export(ctx, req, session, shell)
}
