//! Command-line interface: the public contract of flags and subcommands, and the completion
//! that answers from the same definition. Only clap lives here; the commands read it.

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::env::Shells;
use clap_complete::{ArgValueCandidates, CompleteEnv, CompletionCandidate};

use crate::shell::{CompletionShell, Dialect, InitShell, COMPLETE_VAR};

#[derive(Debug, Parser)]
#[command(
    name = "stsenv",
    version,
    about = "Assume an AWS IAM role and print the environment for your shell",
    long_about = "Assume an AWS IAM role (by role ARN or by a profile in ~/.aws/config, MFA included) \
and print the statements that put its temporary credentials into your shell.\n\n\
  eval \"$(stsenv assume prod-admin)\"                        # bash, zsh, sh\n\
  stsenv assume prod-admin | source                          # fish\n\
  stsenv assume prod-admin | Out-String | Invoke-Expression  # PowerShell\n\
  stsenv assume prod-admin | from json | load-env            # nushell"
)]
pub struct Cli {
    /// Say on stderr what stsenv does, step by step (never a secret)
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Assume a role and print the statements that export its credentials
    Assume(Box<AssumeArgs>),
    /// A short root session in a member account, for one privileged task (STS AssumeRoot)
    #[command(
        after_help = "stsenv assume-root 111122223333 --task IAMAuditRootUserCredentials\n\
stsenv assume-root 111122223333 --task S3UnlockBucketPolicy --profile org-admin"
    )]
    AssumeRoot(Box<AssumeRootArgs>),
    /// Assume a role and run a command with its credentials in the environment
    Exec(Box<ExecArgs>),
    /// Assume again what this shell assumed last, with the same options (what the hooks'
    /// auto-refresh runs)
    Refresh {
        /// Output syntax [default: detected, as for assume]
        #[arg(short = 's', long, value_enum)]
        shell: Option<Dialect>,
    },
    /// Print the statements that unset every variable `assume` sets
    Clear {
        /// Output syntax [default: detected, as for assume]
        #[arg(short = 's', long, value_enum)]
        shell: Option<Dialect>,
    },
    /// Show who the current credentials belong to (GetCallerIdentity)
    Whoami(WhoamiArgs),
    /// Sign in to IAM Identity Center (SSO) in the browser; the token is shared with the AWS CLI
    Login(LoginArgs),
    /// Sign out of IAM Identity Center: remove cached SSO tokens (all of them without a name)
    Logout(LogoutArgs),
    /// IAM Identity Center: write a profile for every account and role a session reaches
    Sso {
        #[command(subcommand)]
        action: SsoAction,
    },
    /// Open the AWS console in your browser, signed in as a role (or as this shell's
    /// credentials)
    #[command(
        after_help = "stsenv console prod-admin                  # assume prod-admin, open the console home\n\
stsenv console prod-admin --service s3     # the S3 console, in the region in force\n\
stsenv console                             # the credentials `assume` set in this shell\n\
stsenv console prod-admin --print          # the sign-in URL on stdout (valid 15 minutes)"
    )]
    Console(Box<ConsoleArgs>),
    /// Print the shell functions for your rc file: assume, unassume, stsenv_prompt
    #[command(
        after_help = "bash:       eval \"$(stsenv init bash)\"        (in ~/.bashrc)\n\
zsh:        eval \"$(stsenv init zsh)\"         (in ~/.zshrc)\n\
fish:       stsenv init fish | source           (in ~/.config/fish/config.fish)\n\
PowerShell: Invoke-Expression (& stsenv init powershell | Out-String)   (in $PROFILE)\n\
nushell:    stsenv init nu | save -f ~/.stsenv.nu   (once; then `source ~/.stsenv.nu` in config.nu)"
    )]
    Init {
        #[arg(value_enum)]
        shell: InitShell,
    },
    /// List the profiles in ~/.aws/config and ~/.aws/credentials
    Profiles {
        /// Print JSON
        #[arg(long, conflicts_with = "names")]
        json: bool,
        /// Print only the names, one per line
        #[arg(long)]
        names: bool,
    },
    /// Print a tab-completion script (profile names complete live from your config)
    #[command(
        after_help = "bash:       stsenv completions bash > ~/.local/share/bash-completion/completions/stsenv\n\
zsh:        stsenv completions zsh > \"${fpath[1]}/_stsenv\"\n\
fish:       stsenv completions fish > ~/.config/fish/completions/stsenv.fish\n\
PowerShell: stsenv completions powershell | Out-String | Invoke-Expression   (in $PROFILE)\n\
elvish:     eval (stsenv completions elvish | slurp)   (in rc.elv)\n\
nushell:    stsenv completions nu | save -f ~/.stsenv-completions.nu   (once; then `source ~/.stsenv-completions.nu` in config.nu)"
    )]
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Show or remove cached credentials (shared with the AWS CLI's ~/.aws/cli/cache)
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Long-term IAM user keys in the OS keyring instead of ~/.aws/credentials: add, import,
    /// export, list, remove, rotate
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Ask for an access key on the terminal and store it in the OS keyring; the profile gets
    /// `credential_process = stsenv keys export PROFILE` in ~/.aws/config
    Add {
        /// The profile the keys are for
        #[arg(add = ArgValueCandidates::new(profile_candidates))]
        profile: String,
        /// Take the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of asking
        #[arg(long)]
        from_env: bool,
    },
    /// Print the profile's keys as credential_process JSON (what AWS tools run)
    Export {
        #[arg(add = ArgValueCandidates::new(profile_candidates))]
        profile: String,
    },
    /// Move keys from ~/.aws/credentials into the OS keyring (the key lines leave the file)
    Import {
        /// The profile whose keys move [required unless --all]
        #[arg(required_unless_present = "all", add = ArgValueCandidates::new(profile_candidates))]
        profile: Option<String>,
        /// Every profile of the credentials file that holds long-term keys
        #[arg(long, conflicts_with = "profile")]
        all: bool,
    },
    /// The profiles with keys in the OS keyring, and their access key ids (never secrets)
    List,
    /// Remove the profile's keys from the OS keyring, and stsenv's credential_process line
    Remove {
        #[arg(add = ArgValueCandidates::new(profile_candidates))]
        profile: String,
    },
    /// Replace the profile's access key with a new one (IAM CreateAccessKey), check it, then
    /// delete the old one
    Rotate {
        #[arg(add = ArgValueCandidates::new(profile_candidates))]
        profile: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// What is cached, for which role or profile, and how long it has left (no secrets)
    List,
    /// Remove cached credentials: all of them, or those of one role ARN or profile
    Clear {
        /// A role ARN or profile name, as given to `stsenv assume`
        #[arg(add = ArgValueCandidates::new(profile_candidates))]
        target: Option<String>,
    },
}

/// `assume` options alone, as `stsenv refresh` reads them back from STSENV_ARGS.
#[derive(Debug, Parser)]
#[command(name = "stsenv assume", no_binary_name = true)]
pub struct AssumeOnly {
    #[command(flatten)]
    pub opts: AssumeOptions,
}

#[derive(Debug, Args)]
pub struct AssumeArgs {
    #[command(flatten)]
    pub opts: AssumeOptions,

    /// Write the credentials into the shared credentials file as profile NAME (replacing only
    /// that section) instead of printing them
    #[arg(long, value_name = "NAME")]
    pub write_profile: Option<String>,

    /// With --write-profile: write even over long-term keys or a profile the credentials come
    /// from
    #[arg(long, requires = "write_profile")]
    pub force: bool,

    /// Output syntax. Without it, stsenv looks at the process that runs it (its parent) and
    /// uses that shell if it knows it; otherwise the basename of $SHELL; otherwise sh.
    #[arg(short = 's', long, value_enum)]
    pub shell: Option<Dialect>,
}

#[derive(Debug, Args)]
pub struct AssumeRootArgs {
    /// The member account (12 digits) whose root user the session is
    #[arg(value_name = "ACCOUNT")]
    pub account: String,

    /// The task: IAMAuditRootUserCredentials, IAMCreateRootUserPassword,
    /// IAMDeleteRootUserCredentials, S3UnlockBucketPolicy, SQSUnlockQueuePolicy, or a
    /// root-task policy ARN
    #[arg(long, value_name = "TASK")]
    pub task: String,

    /// Profile whose credentials call AssumeRoot (default: the standard AWS credential chain)
    #[arg(short = 'p', long, value_name = "NAME", add = ArgValueCandidates::new(profile_candidates))]
    pub profile: Option<String>,

    /// Session duration: seconds, or 15m (at most 900 s, the default)
    #[arg(short = 'd', long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// The current 6-digit code of the MFA device the profile's chain asks for
    #[arg(long, value_name = "CODE")]
    pub token_code: Option<String>,

    /// Region whose STS endpoint is called (AssumeRoot has no global endpoint) and exported
    #[arg(short = 'r', long)]
    pub region: Option<String>,

    /// STS endpoint URL [default: the region's own]
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Give up on a request that gets no answer after this long (seconds, or 30s, 1m)
    /// [default: 15]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Never sign in to IAM Identity Center here: a missing or expired SSO token is an error
    #[arg(long)]
    pub no_login: bool,

    /// Refused: a root session is never written to a file
    #[arg(long, value_name = "NAME")]
    pub write_profile: Option<String>,

    /// Output syntax [default: detected, as for assume]
    #[arg(short = 's', long, value_enum)]
    pub shell: Option<Dialect>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub opts: AssumeOptions,

    /// Serve the command refreshing credentials from 127.0.0.1 (the SDKs' container credential
    /// endpoint) instead of fixed keys in its environment; stsenv stays its parent
    #[arg(long)]
    pub server: bool,

    /// The command to run, after `--` [default: $SHELL]
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// A profile that signs in with IAM Identity Center (or a role profile on top of one)
    /// [default: AWS_PROFILE, the default profile, or the only SSO session]
    #[arg(add = ArgValueCandidates::new(profile_candidates))]
    pub profile: Option<String>,

    /// An [sso-session NAME] of the AWS config
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub sso_session: Option<String>,

    /// Don't open a browser; only print the URL to open (and, with a device code, the code)
    #[arg(long)]
    pub no_browser: bool,

    /// Sign in with a device code, approved in a browser on any device, instead of a
    /// browser on this machine coming back to it
    #[arg(long)]
    pub use_device_code: bool,

    /// Sign in anew even when the cached token can be renewed with its refresh token
    #[arg(long)]
    pub force: bool,

    /// How long the browser has to come back with the sign-in (seconds, or 30s, 5m)
    /// [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SsoAction {
    /// Write one profile per account and role of an SSO session into the AWS config, and keep
    /// them in step (only the sections stsenv wrote are ever changed)
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// An [sso-session NAME] of the AWS config [default: the only one]
    pub session: Option<String>,

    /// How profiles are named, from {account_name}, {account_id}, {role_name} and {session}
    /// [default: {account_name}.{role_name}]
    #[arg(long, value_name = "T")]
    pub name_template: Option<String>,

    /// The region of the profiles [default: the session's sso_region]
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// Remove the profiles of roles the session no longer reaches
    #[arg(long)]
    pub prune: bool,

    /// Print what would be added, changed and removed, and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Never sign in here: a missing or expired token is an error
    #[arg(long)]
    pub no_login: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// A profile that signs in with IAM Identity Center [default: every cached SSO token]
    #[arg(add = ArgValueCandidates::new(profile_candidates))]
    pub profile: Option<String>,

    /// An [sso-session NAME] of the AWS config
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub sso_session: Option<String>,
}

#[derive(Debug, Args)]
#[command(mut_arg("duration", |a| a.help(
    "How long the console session lasts: seconds, or 15m, 1h, 12h (a role assumed with IAM \
user keys: up to 12 h; IAM user keys: up to 36 h) [default: as long as the credentials]"
)))]
#[command(mut_arg("region", |a| a.help("Region for the STS call and the console page")))]
pub struct ConsoleArgs {
    /// A role ARN or profile name, assumed as `stsenv assume` would [default: the credentials
    /// `assume` set in this shell]
    #[arg(add = ArgValueCandidates::new(profile_candidates))]
    pub target: Option<String>,

    #[command(flatten)]
    pub flags: AssumeFlags,

    /// Open this service's console (s3, ec2, cloudformation, iam, lambda, …; any other name
    /// opens /NAME/home) in the region in force
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(service_candidates))]
    pub service: Option<String>,

    /// Open this console URL (or a path on the console, /s3/buckets) instead of a service's home
    #[arg(long, value_name = "URL", conflicts_with = "service")]
    pub destination: Option<String>,

    /// Print the sign-in URL on stdout and open nothing (for scripts); it signs anyone in
    /// for 15 minutes
    #[arg(long, conflicts_with = "no_browser")]
    pub print: bool,

    /// Start no browser: show the sign-in URL on the terminal instead
    #[arg(long)]
    pub no_browser: bool,

    /// Open the console in a browser context of this profile's own, kept between runs, so
    /// that several accounts stay signed in side by side (also stsenv_console_isolate = true,
    /// STSENV_CONSOLE_ISOLATE=1)
    #[arg(long, conflicts_with_all = ["print", "no_browser"])]
    pub isolate: bool,

    /// The browser to open the console in (also stsenv_browser) [default: with --isolate, the
    /// first of these installed; else $BROWSER or the system's]
    #[arg(long, value_name = "NAME", conflicts_with_all = ["print", "no_browser"],
          value_parser = clap::builder::PossibleValuesParser::new(crate::browser::KEYS))]
    pub browser: Option<String>,

    /// List the browser contexts --isolate keeps, and which are open
    #[arg(long, conflicts_with_all = ["target", "print", "no_browser", "isolate", "browser", "forget", "service", "destination"])]
    pub list_contexts: bool,

    /// Remove the browser context --isolate keeps for PROFILE (its folder)
    #[arg(long, value_name = "PROFILE", add = ArgValueCandidates::new(context_candidates),
          conflicts_with_all = ["target", "print", "no_browser", "isolate", "browser", "service", "destination"])]
    pub forget: Option<String>,

    /// The sign-in federation endpoint instead of the partition's (a test hook, also
    /// STSENV_FEDERATION_URL)
    #[arg(long, value_name = "URL", hide = true)]
    pub federation_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Ask as this profile (assumed as `stsenv assume` would) instead of the current credentials
    #[arg(short = 'p', long, value_name = "NAME", add = ArgValueCandidates::new(profile_candidates))]
    pub profile: Option<String>,

    /// Print JSON
    #[arg(long)]
    pub json: bool,

    /// STS endpoint URL [default: as the AWS CLI resolves it]
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Everything that says what to assume and how; shared by `assume` and `exec`.
#[derive(Debug, Args)]
pub struct AssumeOptions {
    /// A role ARN (arn:aws:iam::123456789012:role/name) or a profile name from ~/.aws/config
    /// [default: pick one from a list, on a terminal]
    #[arg(add = ArgValueCandidates::new(profile_candidates))]
    pub target: Option<String>,

    #[command(flatten)]
    pub flags: AssumeFlags,
}

/// How to assume a target: every assume option but the target itself, which `console` may
/// leave out.
#[derive(Debug, Args)]
pub struct AssumeFlags {
    /// Profile whose credentials assume the role ARN (default: the standard AWS credential chain)
    #[arg(short = 'p', long, value_name = "NAME", add = ArgValueCandidates::new(profile_candidates))]
    pub profile: Option<String>,

    /// Role session name [default: stsenv-<local user>]
    #[arg(short = 'n', long, value_name = "NAME")]
    pub session_name: Option<String>,

    /// Session duration: seconds, or 15m, 1h, 12h (900 s to 12 h)
    #[arg(short = 'd', long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// External ID required by the role's trust policy
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,

    /// ARN or serial number of the MFA device
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,

    /// The current 6-digit code of the MFA device
    #[arg(long, value_name = "CODE")]
    pub token_code: Option<String>,

    /// Session policy: JSON text, or @file to read it from a file
    #[arg(long, value_name = "JSON|@FILE")]
    pub policy: Option<String>,

    /// ARN of a managed policy to limit the session with (repeatable)
    #[arg(long = "policy-arn", value_name = "ARN")]
    pub policy_arns: Vec<String>,

    /// Session tag KEY=VALUE (repeatable)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,

    /// Source identity to stamp on the session
    #[arg(long, value_name = "ID")]
    pub source_identity: Option<String>,

    /// Region for the STS call and the exported AWS_REGION
    #[arg(short = 'r', long)]
    pub region: Option<String>,

    /// STS endpoint URL [default: as the AWS CLI resolves it]
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Give up on a request that gets no answer after this long (seconds, or 30s, 1m)
    /// [default: 15]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// How long the MFA session behind your roles lasts (GetSessionToken; 15m to 36h)
    /// [default: 12h]
    #[arg(long, value_name = "DURATION")]
    pub mfa_session_duration: Option<String>,

    /// Neither read nor write cached credentials
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,

    /// Ignore cached credentials and cache the new ones
    #[arg(long)]
    pub refresh: bool,

    /// Never sign in to IAM Identity Center here: a missing or expired SSO token is an error
    #[arg(long)]
    pub no_login: bool,

    /// Never ask anything on the terminal: no picker when TARGET is left out
    #[arg(long)]
    pub no_input: bool,
}

/// Answers a completion request and exits, when the shell's script made one.
pub fn answer_completion_if_asked() {
    if std::env::var_os(COMPLETE_VAR).is_some() {
        CompleteEnv::with_factory(Cli::command)
            .var(COMPLETE_VAR)
            .shells(Shells(crate::shell::completers()))
            .complete();
    }
}

/// Profile names, with the role ARN as the description where there is one.
pub fn profile_candidates() -> Vec<CompletionCandidate> {
    let Ok(set) = crate::aws_files::load_profiles(&crate::env::Env::process()) else {
        return Vec::new();
    };
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| {
            let help = set
                .get_profile(name)
                .and_then(|p| p.get("role_arn"))
                .map(|a| a.to_string().into());
            CompletionCandidate::new(name).help(help)
        })
        .collect()
}

/// The console's service names, with the page each opens.
/// The browser contexts `stsenv console --isolate` keeps, for `--forget`.
pub fn context_candidates() -> Vec<CompletionCandidate> {
    crate::browser_context::Contexts::locate(&crate::env::Env::process())
        .ok()
        .and_then(|c| c.list().ok())
        .unwrap_or_default()
        .into_iter()
        .map(|c| CompletionCandidate::new(c.name))
        .collect()
}

pub fn service_candidates() -> Vec<CompletionCandidate> {
    crate::federation::SERVICES
        .iter()
        .map(|s| CompletionCandidate::new(s.name).help(Some(format!("/{}/home", s.path).into())))
        .collect()
}
