//! `stsenv assume`: the request from the command line, the engine, and the statements for
//! the shell (or, with `--write-profile`, a section of the credentials file).

use crate::cli::AssumeArgs;
use crate::cmd::Output;
use crate::credentials_file;
use crate::engine;
use crate::error::{say, Error};
use crate::shell::Shell;

pub fn run(args: &AssumeArgs, shell: Shell) -> Result<Output, Error> {
    let req = super::request(&super::target_of(&args.opts)?, &args.opts.flags)?;
    if let Some(name) = &args.write_profile {
        credentials_file::check_profile_name(name)?;
        let chain = engine::source_profiles(&req)?;
        if !args.force {
            // Said before any request; the write checks again under its lock.
            credentials_file::check_target(name, &chain)?;
        }
        let session = engine::obtain(&req)?;
        let path = credentials_file::write_profile(name, &session.credentials, &chain, args.force)?;
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
    super::export(&req, engine::obtain(&req)?, shell)
}
