//! Every way stsenv can fail, each turned into one sentence that says what went wrong and
//! what to do. No variant ever carries a secret: values that reach a message are ARNs,
//! profile names, file paths, URLs and STS error codes.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid role ARN '{0}': expected arn:aws:iam::<12-digit account id>:role/<name>")]
    BadRoleArn(String),

    #[error("invalid {what} '{value}': {why}")]
    BadValue {
        what: &'static str,
        value: String,
        why: String,
    },

    #[error("cannot read the session policy file {} ({why}); check the path after @", path.display())]
    PolicyFile { path: PathBuf, why: String },

    #[error("cannot read the AWS config: {0}")]
    Config(String),

    #[error("profile '{name} not found in {files}{suggestion}; `stsenv profiles` lists the profiles there")]
    UnknownProfile {
        name: String,
        files: String,
        suggestion: String,
    },

    #[error("source_profile loop: {0}; make one of these profiles get credentials without source_profile")]
    ProfileLoop(String),

    #[error("profile '{0}' has role_arn but neither source_profile nor credential_source: add one of them")]
    NoSourceForRole(String),

    #[error("profile '{profile}': {key} {why}")]
    ProfileValue {
        profile: String,
        key: &'static str,
        why: String,
    },

    #[error("profile '{0}' has both source_profile and credential_source: keep only one")]
    TwoSourcesForRole(String),

    #[error("profile '{profile}': credential_source '{value}' is not one of Environment, Ec2InstanceMetadata, EcsContainer")]
    BadCredentialSource { profile: String, value: String },

    #[error("profile '{profile}' has no role_arn, so {flag} does not apply: drop it, or assume a role ARN with --profile {profile}")]
    OptionNeedsRole { profile: String, flag: &'static str },

    #[error("--profile only picks the source credentials for a role ARN; to assume profile '{0}', run `stsenv assume {0}`")]
    ProfileWithProfile(String),

    #[error("MFA code needed for {serial} ({profile}): pass --token-code, set mfa_process, or run in a terminal")]
    MfaNoTerminal { serial: String, profile: String },

    #[error("{0}")]
    Mfa(String),

    #[error("could not get the source credentials {source_label}: {detail}")]
    SourceCredentials {
        source_label: String,
        detail: String,
    },

    #[error("no AWS credentials found (no keys in the environment, no AWS_PROFILE, no default profile, no instance role); run `aws configure`, or pass --profile")]
    NoCredentials,

    #[error("{0}")]
    Sts(String),

    #[error("{0}")]
    WriteRefused(String),

    #[error("{0}")]
    File(String),

    #[error("cannot write the {name} value for this shell: {why}")]
    Unrenderable {
        name: &'static str,
        why: &'static str,
    },

    /// A value that would break its line in an AWS config or credentials file. Only the key
    /// is named: the value may be a secret.
    #[error("not writing {key} into the AWS config or credentials file: its value holds a line break or control character, which would change what the file says")]
    FileValue { key: String },

    #[error("{0}")]
    Network(String),

    #[error("{0}")]
    Sso(String),

    /// The SSO token of a profile is missing or expired, and no one can sign in here.
    #[error("{what}; run: stsenv login {profile}")]
    SsoLoginNeeded { what: String, profile: String },

    #[error("{0}")]
    Console(String),

    #[error("{0}")]
    Proxy(String),

    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),

    #[error("HOME is not set: set HOME or {0}")]
    NoHome(&'static str),

    /// Worded as the shells word it, since it stands where the shell's own message would.
    #[error("{}", exec_message(program, source))]
    Exec {
        program: String,
        source: std::io::Error,
    },

    #[error("cannot start the credential server on 127.0.0.1: {0}; check that the loopback interface is up")]
    ServerStart(std::io::Error),

    #[error("{0} gives long-term keys, which never expire and which the container credential endpoint cannot carry: run `stsenv exec {0}` without --server")]
    ServerNeedsSession(String),

    #[error("cannot get random bytes from the operating system for the server's token: {0}")]
    Random(String),

    #[error("cannot find the stsenv binary's path: {0}")]
    OwnPath(String),

    /// The OS keyring (`keystore::KeyringError`'s sentence).
    #[error("{0}")]
    Keyring(String),

    /// `stsenv keys`: what is in the keyring and the AWS files, and what to do.
    #[error("{0}")]
    Keys(String),

    #[error("{0}")]
    Iam(String),

    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The exit status for this failure: what a shell gives a command it could not run
    /// (127 not found, 126 found but not runnable), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 127,
            Error::Exec { .. } => 126,
            _ => 1,
        }
    }

    pub fn bad(what: &'static str, value: &str, why: impl Into<String>) -> Self {
        Error::BadValue {
            what,
            value: value.to_string(),
            why: why.into(),
        }
    }
}

fn exec_message(program: &str, source: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match source.kind() {
        // A bare name was looked up on PATH; a path names one file.
        ErrorKind::NotFound if !program.contains('/') => format!("{program}: command not found"),
        ErrorKind::NotFound => format!("{program}: No such file or directory"),
        ErrorKind::PermissionDenied => format!("{program}: Permission denied"),
        _ => format!("{program}: cannot execute: {source}"),
    }
}

/// Folds a message onto one line, so that an SDK error with embedded newlines still reads as
/// the single line the contract promises on stderr.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error and its sources as one line, each message once: "dispatch failure: io error:
/// Connection refused". Display only, never Debug, which can dump raw responses.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let msg = one_line(&e.to_string());
        if !msg.is_empty() && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// How much of a message is shown: enough for any sentence of ours plus a quoted value,
/// not a 10 MB error body.
const MAX_MESSAGE_CHARS: usize = 600;

/// A message as it may reach a terminal: on one line, control characters (escape sequences
/// included) written as `\u{1b}`, cut to a few hundred characters.
pub fn sanitize(msg: &str) -> String {
    let mut out = String::new();
    for (count, c) in one_line(msg).chars().enumerate() {
        if count >= MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        if escaped(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as one line whose control characters (escape sequences included) are written as
/// `\u{1b}`, whole: for a URL or code the user must copy exactly.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if escaped(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// How many characters `text` takes once `escape_controls` has written it.
pub fn escaped_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if escaped(c) {
                c.escape_unicode().count()
            } else {
                1
            }
        })
        .sum()
}

fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2028}' | '\u{2029}')
}

/// `sanitize` for each line of a text meant to be several lines.
pub fn sanitize_lines(text: &str) -> String {
    text.lines().map(|l| format!("{}\n", sanitize(l))).collect()
}

/// Says `msg` on stderr as one line, `stsenv: ` first. A failed write (a closed or full
/// stderr) is passed over rather than panicking.
pub fn say(msg: &str) {
    use std::io::Write;
    let line = format!("stsenv: {}\n", sanitize(msg));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A warning on stderr: something the user should know that doesn't stop the command.
pub fn warn(msg: &str) {
    say(&format!("warning: {msg}"));
}

/// A warning about the cache, given at most once per run: when the cache can't be used,
/// every later attempt would say the same.
pub fn warn_cache(msg: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static GIVEN: AtomicBool = AtomicBool::new(false);
    if !GIVEN.swap(true, Ordering::Relaxed) {
        warn(&format!("{msg}; going on without the cache"));
    }
}
