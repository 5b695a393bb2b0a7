//! The commands: one file per subcommand, each turning its clap arguments into a plain
//! request, calling the engine or the ground, and saying what to print. What they share (the
//! request from assume options, the table layout) lives here; they never import each other.

pub mod assume;
pub mod cache;
pub mod clear;
pub mod completions;
pub mod exec;
pub mod init;
pub mod profiles;
pub mod whoami;

use crate::cli::{AssumeOptions, Command};
use crate::engine::{CacheMode, Request};
use crate::error::Error;
use crate::shell::{self, Shell};
use crate::validate;

/// What a command leaves for `main` to print.
pub enum Output {
    /// Shell statements for `eval`; when stdout is a terminal, stderr says how to apply them.
    Eval { shell: Shell, text: String },
    /// Text for stdout as it is.
    Text(String),
    /// Nothing to print; exit with this status.
    Exit(i32),
}

/// A failed command: the error, and the shell whose failure statement stdout must carry
/// (for commands whose output is eval'd).
pub struct Failure {
    pub error: Error,
    pub shell: Option<Shell>,
}

impl Failure {
    fn eval(shell: Shell) -> impl FnOnce(Error) -> Failure {
        move |error| Failure {
            error,
            shell: Some(shell),
        }
    }

    fn plain(error: Error) -> Failure {
        Failure { error, shell: None }
    }
}

pub fn run(command: Command) -> Result<Output, Failure> {
    match command {
        Command::Assume(args) => {
            let shell = args.shell.unwrap_or_else(shell::detect);
            assume::run(&args, shell).map_err(Failure::eval(shell))
        }
        Command::Exec(args) => exec::run(&args).map_err(Failure::plain),
        Command::Clear { shell } => {
            let shell = shell.unwrap_or_else(shell::detect);
            clear::run(shell).map_err(Failure::eval(shell))
        }
        Command::Whoami(args) => whoami::run(&args).map_err(Failure::plain),
        Command::Init { shell } => init::run(shell).map_err(Failure::eval(shell)),
        Command::Profiles { json, names } => profiles::run(json, names).map_err(Failure::plain),
        Command::Completions { shell } => Ok(completions::run(shell)),
        Command::Cache { action } => cache::run(action).map_err(Failure::plain),
    }
}

/// The request that `assume` options describe, every value checked.
pub fn request(a: &AssumeOptions) -> Result<Request, Error> {
    let mut req = Request::new(&a.target)?;
    req.profile = a.profile.clone();
    req.policy_arns = a.policy_arns.clone();
    req.check()?;
    for arn in &req.policy_arns {
        validate::policy_arn(arn)?;
    }
    let check =
        |v: &Option<String>, f: fn(&str) -> Result<(), Error>| -> Result<Option<String>, Error> {
            v.as_deref().map(f).transpose()?;
            Ok(v.clone())
        };
    req.session_name = check(&a.session_name, validate::session_name)?;
    req.duration = a.duration.as_deref().map(validate::duration).transpose()?;
    req.external_id = check(&a.external_id, validate::external_id)?;
    req.mfa_serial = check(&a.mfa_serial, validate::mfa_serial)?;
    req.token_code = check(&a.token_code, validate::token_code)?;
    req.policy = a.policy.as_deref().map(validate::policy).transpose()?;
    req.tags = validate::tags(&a.tags)?;
    req.source_identity = check(&a.source_identity, validate::source_identity)?;
    req.region = check(&a.region, validate::region)?;
    req.endpoint_url = check(&a.endpoint_url, validate::endpoint_url)?;
    if let Some(t) = &a.timeout {
        req.timeout = validate::timeout(t)?;
    }
    req.cache = match (a.no_cache, a.refresh) {
        (true, _) => CacheMode::Off,
        (false, true) => CacheMode::Refresh,
        (false, false) => CacheMode::Use,
    };
    if let Some(d) = &a.mfa_session_duration {
        req.mfa_session_duration = validate::mfa_session_duration(d)?;
    }
    Ok(req)
}

/// Rows as aligned columns, two spaces apart, no trailing blanks.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(&format!("{cell:w$}  ", w = widths[i]));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
