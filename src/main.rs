//! Entry point: parse, dispatch, and turn every failure into one line on stderr, a non-zero
//! exit, and (for eval-able shells) a `false` on stdout so the caller's eval fails too.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use stsenv::cli::{self, Cli};
use stsenv::cmd::{self, Failure, Output};
use stsenv::error::{say, Error};
use stsenv::guard;
use stsenv::shell::{self, Dialect};
use stsenv::verbose;

fn main() -> ExitCode {
    guard::harden();
    cli::answer_completion_if_asked();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    if cli.verbose {
        verbose::enable();
    }
    match cmd::run(cli.command) {
        Ok(Output::Eval { shell, text }) => {
            let code = print_stdout(&text);
            if std::io::stdout().is_terminal() {
                if let Some(hint) = shell.apply_hint(&cmdline()) {
                    say(&hint);
                }
            }
            code
        }
        Ok(Output::Text(text)) => print_stdout(&text),
        Ok(Output::Exit(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(Failure {
            error,
            shell: Some(shell),
        }) => fail(shell, &error),
        Err(Failure { error, shell: None }) => report(&error),
    }
}

/// A failure of a command whose stdout is not eval'd.
fn report(err: &Error) -> ExitCode {
    say(&err.to_string());
    ExitCode::from(err.exit_code())
}

fn fail(shell: Dialect, err: &Error) -> ExitCode {
    say(&err.to_string());
    if !std::io::stdout().is_terminal() {
        if let Some(statement) = shell.fail() {
            print_stdout(&format!("{statement}\n"));
        }
    }
    ExitCode::from(1)
}

fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    guard::stdout_written();
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe means the reader is gone; nothing useful is left to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(e) => {
            say(&format!("cannot write to stdout: {e}"));
            ExitCode::from(1)
        }
    }
}

fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    // clap's first paragraph is the message ("…not provided:" and the names below it); the
    // usage and tips after it don't fit the one-line contract.
    let rendered = e.to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let first = paragraph.join(" ");
    let first = first.trim_start_matches("error: ");
    let shell = shell_from_args().unwrap_or_else(|| shell::detect().into());
    fail(
        shell,
        &Error::Usage(format!("{first}; see `stsenv --help`")),
    )
}

/// `--shell` as typed, when the rest of the command line didn't parse.
fn shell_from_args() -> Option<Dialect> {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.iter().enumerate().find_map(|(i, a)| {
        let value = match a.as_str() {
            "-s" | "--shell" => args.get(i + 1)?.as_str(),
            _ => a
                .strip_prefix("--shell=")
                .or_else(|| a.strip_prefix("-s"))?,
        };
        Dialect::from_str(value, true).ok()
    })
}

fn cmdline() -> String {
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| shell::quote_posix_word(&a.to_string_lossy()))
        .collect();
    format!("stsenv {}", words.join(" "))
}
