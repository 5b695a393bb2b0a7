//! `stsenv assume`: the request from the command line, the engine, and the statements for
//! the shell (or, with `--write-profile`, a section of the credentials file).

use crate::cli::AssumeArgs;
use crate::cmd::Output;
use crate::credentials_file;
use crate::engine;
use crate::error::Error;
use crate::shell::Shell;

pub fn run(args: &AssumeArgs, shell: Shell) -> Result<Output, Error> {
    let req = super::request(&args.opts)?;
    if let Some(name) = &args.write_profile {
        credentials_file::check_profile_name(name)?;
        let session = engine::obtain(&req)?;
        let path = credentials_file::write_profile(name, &session.credentials)?;
        let until = session
            .credentials
            .expires
            .map(|e| format!(", valid until {}", crate::time::rfc3339(e)))
            .unwrap_or_default();
        eprintln!(
            "stsenv: wrote the credentials of {} to profile [{name}] in {}{until}; use them with `aws --profile {name} …`",
            req.target_text,
            path.display()
        );
        return Ok(Output::Text(String::new()));
    }
    let session = engine::obtain(&req)?;
    Ok(Output::Eval {
        shell,
        text: shell.render_session(&session)?,
    })
}
