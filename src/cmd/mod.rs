//! The commands: one file per subcommand, each turning its clap arguments into a plain
//! request, calling the engine or the ground, and saying what to print. What they share (the
//! request from assume options, the table layout) lives here; they never import each other.

pub mod assume;
pub mod assume_root;
pub mod cache;
pub mod clear;
pub mod completions;
pub mod console;
pub mod exec;
pub mod init;
pub mod keys;
pub mod login;
pub mod logout;
pub mod profiles;
pub mod refresh;
pub mod sso;
pub mod whoami;

use crate::cli::{AssumeFlags, Command};
use crate::context::Context;
use crate::engine::{self, default_timeout, CacheMode, Request, Target, DEFAULT_MFA_SESSION};
use crate::error::Error;
use crate::guard;
use crate::session::Session;
use crate::shell::{self, Dialect};
use crate::sts::RoleOptions;
use crate::validate;

/// What a command leaves for `main` to print.
pub enum Output {
    /// Shell statements for `eval`; when stdout is a terminal, stderr says how to apply them.
    Eval { shell: Dialect, text: String },
    /// Text for stdout as it is.
    Text(String),
    /// Nothing to print; exit with this status.
    Exit(i32),
}

/// A failed command: the error, and the shell whose failure statement stdout must carry
/// (for commands whose output is eval'd).
pub struct Failure {
    pub error: Error,
    pub shell: Option<Dialect>,
}

impl Failure {
    fn eval(shell: Dialect) -> impl FnOnce(Error) -> Failure {
        move |error| Failure {
            error,
            shell: Some(shell),
        }
    }

    fn plain(error: Error) -> Failure {
        Failure { error, shell: None }
    }
}

/// From here on the run owes `shell`'s failure statement, even if it is killed.
fn evaluated(shell: Dialect) -> Dialect {
    guard::owe_failure_statement(shell.fail());
    shell
}

pub fn run(command: Command) -> Result<Output, Failure> {
    // `refresh` takes the session's own credentials out of the environment first: its
    // context is its own.
    let ctx = || Context::process();
    match command {
        Command::Assume(args) => {
            let shell = evaluated(args.shell.unwrap_or_else(|| shell::detect().into()));
            assume::run(&ctx(), &args, shell).map_err(Failure::eval(shell))
        }
        Command::AssumeRoot(args) => {
            let shell = evaluated(args.shell.unwrap_or_else(|| shell::detect().into()));
            assume_root::run(&ctx(), &args, shell).map_err(Failure::eval(shell))
        }
        Command::Exec(args) => exec::run(&ctx(), &args).map_err(Failure::plain),
        Command::Clear { shell } => {
            let shell = evaluated(shell.unwrap_or_else(|| shell::detect().into()));
            clear::run(shell).map_err(Failure::eval(shell))
        }
        Command::Refresh { shell } => {
            let shell = evaluated(shell.unwrap_or_else(|| shell::detect().into()));
            refresh::run(shell).map_err(Failure::eval(shell))
        }
        Command::Whoami(args) => whoami::run(&ctx(), &args).map_err(Failure::plain),
        Command::Login(args) => login::run(&ctx(), &args).map_err(Failure::plain),
        Command::Logout(args) => logout::run(&ctx(), &args).map_err(Failure::plain),
        Command::Sso { action } => sso::run(&ctx(), action).map_err(Failure::plain),
        Command::Console(args) => console::run(&ctx(), &args).map_err(Failure::plain),
        Command::Init { shell } => {
            let dialect = evaluated(shell.0.into());
            init::run(shell.0).map_err(Failure::eval(dialect))
        }
        Command::Profiles { json, names } => {
            profiles::run(&ctx(), json, names).map_err(Failure::plain)
        }
        Command::Completions { shell } => Ok(completions::run(shell)),
        Command::Cache { action } => cache::run(&ctx(), action).map_err(Failure::plain),
        Command::Keys { action } => keys::run(&ctx(), action).map_err(Failure::plain),
    }
}

/// The AssumeRole options the flags give, every value checked; `role`: whether the target
/// is a role ARN (a role lasts 12 h at most; a profile may be an MFA session of 36 h, which
/// the planner, knowing which it is, checks).
pub fn role_options(a: &AssumeFlags, role: bool) -> Result<RoleOptions, Error> {
    let check =
        |v: &Option<String>, f: fn(&str) -> Result<(), Error>| -> Result<Option<String>, Error> {
            v.as_deref().map(f).transpose()?;
            Ok(v.clone())
        };
    for arn in &a.policy_arns {
        validate::policy_arn(arn)?;
    }
    let duration: fn(&str) -> Result<u32, Error> = match role {
        true => validate::duration,
        false => validate::session_duration,
    };
    Ok(RoleOptions {
        session_name: check(&a.session_name, validate::session_name)?,
        duration: a.duration.as_deref().map(duration).transpose()?,
        external_id: check(&a.external_id, validate::external_id)?,
        mfa_serial: check(&a.mfa_serial, validate::mfa_serial)?,
        token_code: check(&a.token_code, validate::token_code)?,
        policy: a.policy.as_deref().map(validate::policy).transpose()?,
        policy_arns: a.policy_arns.clone(),
        tags: validate::tags(&a.tags)?,
        source_identity: check(&a.source_identity, validate::source_identity)?,
    })
}

/// The request that `assume` options describe, every value checked.
pub fn request(target: &str, a: &AssumeFlags) -> Result<Request, Error> {
    let mut req = Request::new(target)?;
    req.profile = a.profile.clone();
    req.role.policy_arns = a.policy_arns.clone();
    req.check()?;
    req.role = role_options(a, matches!(req.target, Target::RoleArn(_)))?;
    let check =
        |v: &Option<String>, f: fn(&str) -> Result<(), Error>| -> Result<Option<String>, Error> {
            v.as_deref().map(f).transpose()?;
            Ok(v.clone())
        };
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
    req.no_login = a.no_login;
    Ok(req)
}

/// The statements that hand `session` to `shell`, with the arguments that get it again.
pub fn export(
    ctx: &Context,
    req: &Request,
    mut session: Session,
    shell: Dialect,
) -> Result<Output, Error> {
    session.replay = replay(ctx, req, &session);
    Ok(Output::Eval {
        shell,
        text: shell.render_session(&session)?,
    })
}

/// `stsenv assume` arguments that ask for exactly `req` again, POSIX-quoted: every option
/// (the policy as text, no one-time MFA code), the profile the default chain used, `--` and
/// the target. None when the source was keys in the environment, which the session's own
/// replace: a refresh from there would sign with the session itself.
fn replay(ctx: &Context, req: &Request, session: &Session) -> Option<String> {
    // A root session is privileged and short: got again only by asking again.
    if session.source_in_env || matches!(req.target, Target::Root(_)) {
        return None;
    }
    let mut words: Vec<String> = Vec::new();
    let mut opt = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            words.push(flag.to_string());
            words.push(v);
        }
    };
    let profile = match req.target {
        Target::RoleArn(_) => req.profile.clone().or_else(|| ctx.env().var("AWS_PROFILE")),
        Target::Profile(_) | Target::Root(_) => None,
    };
    opt("--profile", profile);
    words.extend(req.role.replay());
    let mut opt = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            words.push(flag.to_string());
            words.push(v);
        }
    };
    opt("--region", req.region.clone());
    opt("--endpoint-url", req.endpoint_url.clone());
    opt(
        "--timeout",
        (req.timeout != default_timeout()).then(|| req.timeout.as_secs().to_string()),
    );
    opt(
        "--mfa-session-duration",
        (req.mfa_session_duration != DEFAULT_MFA_SESSION)
            .then(|| req.mfa_session_duration.to_string()),
    );
    if req.cache == CacheMode::Off {
        words.push("--no-cache".into());
    }
    if req.no_login {
        words.push("--no-login".into());
    }
    words.push("--".into());
    words.push(req.target_text.clone());
    let quoted: Vec<String> = words.iter().map(|w| shell::quote_posix_word(w)).collect();
    Some(quoted.join(" "))
}

/// The target of the assume options: as given, or picked from a list on the terminal.
pub fn target_of(ctx: &Context, a: &crate::cli::AssumeOptions) -> Result<String, Error> {
    match &a.target {
        Some(t) => Ok(t.clone()),
        None => pick_target(ctx, a.flags.no_input),
    }
}

/// The profile a person picks from a list on the terminal, when no TARGET was given: every
/// profile with its kind, account and role, and whether credentials for it are at hand; the
/// one this shell assumed last first.
pub fn pick_target(ctx: &Context, no_input: bool) -> Result<String, Error> {
    if no_input || !crate::tty::interactive() {
        return Err(Error::Usage(
            "no TARGET given: name a role ARN or a profile (`stsenv profiles` lists them)".into(),
        ));
    }
    let list = ProfileList::new(ctx)?;
    if list.is_empty() {
        return Err(Error::Usage(
            "there is no profile to pick from: give a role ARN, or add profiles to ~/.aws/config"
                .into(),
        ));
    }
    match crate::picker::pick("assume> ", &list) {
        Ok(Some(i)) => Ok(list.name(i).to_string()),
        Ok(None) => Err(Error::Usage("cancelled: no profile picked".into())),
        Err(e) => Err(Error::Usage(format!("the profile picker failed: {e}"))),
    }
}

/// Counts one use of `req`'s target for the picker's order, when it is a profile.
pub fn used(ctx: &Context, req: &Request) {
    if let Target::Profile(name) = &req.target {
        crate::frecency::record(ctx.env(), name);
    }
}

/// The profiles for the picker: most used (and most recent) first, as zoxide ranks, ties in
/// the files' order. The lines come from stsenv's own scan of the files, and each is written
/// out only when it is drawn or first searched, so the first frame costs reading the files
/// and a screenful. The status (cached credentials, a valid SSO token) needs aws-config's
/// reading of the files, which takes long on huge ones: it runs on a thread of its own once
/// the first frame is up, and the picker redraws with the statuses when it is done.
pub struct ProfileList {
    ctx: Context,
    listing: crate::aws_files::Listing,
    /// The listing's profiles, in the order shown.
    order: Vec<usize>,
    widths: [usize; 4],
    texts: Vec<std::sync::OnceLock<String>>,
    /// The status of each row once known.
    status: std::sync::Mutex<Vec<Option<String>>>,
    /// Set by the loader when aws-config's profiles are at hand; taken by `changed`.
    loaded: std::sync::Arc<std::sync::atomic::AtomicBool>,
    loader: std::sync::Once,
    announced: std::sync::atomic::AtomicBool,
    stores: std::sync::OnceLock<(
        Option<crate::cache::Cache>,
        Option<crate::sso::cache::TokenCache>,
    )>,
}

impl ProfileList {
    pub fn new(ctx: &Context) -> Result<ProfileList, Error> {
        let listing = crate::aws_files::Listing::read(ctx.env())?;
        let frecency = crate::frecency::Frecency::load(ctx.env());
        let scores = frecency.scores(crate::time::now());
        // Only the profiles with a count move; the rest keep the files' order.
        let mut used: Vec<(f64, usize)> = (0..listing.len())
            .filter_map(|i| Some((*scores.get(listing.name(i))?, i)))
            .filter(|(score, _)| *score > 0.0)
            .collect();
        used.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut first = vec![false; listing.len()];
        for (_, i) in &used {
            first[*i] = true;
        }
        let order: Vec<usize> = used
            .iter()
            .map(|(_, i)| *i)
            .chain((0..listing.len()).filter(|i| !first[*i]))
            .collect();
        let mut widths = [0usize; 4];
        for i in 0..listing.len() {
            for (w, c) in widths.iter_mut().zip(shown(&listing, i)) {
                *w = (*w).max(crate::error::escaped_width(c));
            }
        }
        Ok(ProfileList {
            ctx: ctx.clone(),
            texts: (0..order.len())
                .map(|_| std::sync::OnceLock::new())
                .collect(),
            status: std::sync::Mutex::new(vec![None; order.len()]),
            listing,
            order,
            widths,
            loaded: Default::default(),
            loader: std::sync::Once::new(),
            announced: std::sync::atomic::AtomicBool::new(false),
            stores: std::sync::OnceLock::new(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The profile of row `row`.
    pub fn name(&self, row: usize) -> &str {
        self.listing.name(self.order[row])
    }

    /// Reads the profiles with aws-config on a thread of its own, once the first frame is
    /// on screen (so that it doesn't slow that frame down).
    fn load_in_background(&self) {
        self.loader.call_once(|| {
            let (ctx, flag) = (self.ctx.clone(), self.loaded.clone());
            std::thread::spawn(move || {
                if ctx.profiles().is_ok() {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            });
        });
    }

    /// What is at hand for row `row`: its cached credentials and how long they last, or a
    /// valid SSO token. Asked only for the lines on screen.
    fn status_of(&self, row: usize) -> String {
        let (cache, tokens) = self.stores.get_or_init(|| {
            (
                crate::cache::Cache::open(CacheMode::Use, self.ctx.env()).ok(),
                crate::sso::cache::TokenCache::open(self.ctx.env()),
            )
        });
        let Ok(profiles) = self.ctx.profiles() else {
            return String::new();
        };
        let name = self.name(row);
        match self.listing.kind(self.order[row]) {
            "sso" => crate::sso::SsoConfig::from_profile(profiles, name)
                .ok()
                .flatten()
                .and_then(|cfg| tokens.as_ref()?.read_token(&cfg))
                .filter(|t| t.left() > 0)
                .map_or(String::new(), |_| "signed in".into()),
            "role" => cache
                .as_ref()
                .and_then(|c| {
                    engine::plan(&self.ctx, Request::new(name).ok()?)
                        .ok()?
                        .cached_until(c)
                })
                .map_or(String::new(), |e| {
                    let left = e - crate::time::now();
                    if left >= 3600 {
                        format!("cached {}h{:02}m", left / 3600, left % 3600 / 60)
                    } else {
                        format!("cached {}m", left / 60)
                    }
                }),
            _ => String::new(),
        }
    }
}

/// A profile's cells but the status: name, kind, account and role, as they are.
fn shown(listing: &crate::aws_files::Listing, i: usize) -> [&str; 4] {
    let (account, role) = account_and_role_ref(|k| listing.get(i, k));
    [
        listing.name(i),
        listing.kind(i),
        account.unwrap_or_default(),
        role.unwrap_or_default(),
    ]
}

impl crate::picker::Items for ProfileList {
    fn len(&self) -> usize {
        self.order.len()
    }

    fn text(&self, row: usize) -> &str {
        self.texts[row].get_or_init(|| {
            let c = shown(&self.listing, self.order[row]).map(crate::error::escape_controls);
            let w = &self.widths;
            format!(
                "{:w0$}  {:w1$}  {:w2$}  {:w3$}",
                c[0],
                c[1],
                c[2],
                c[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            )
        })
    }

    fn line(&self, row: usize) -> String {
        use std::sync::atomic::Ordering;
        let text = self.text(row);
        if !self.loaded.load(Ordering::SeqCst) {
            return text.trim_end().to_string();
        }
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let s = status[row].get_or_insert_with(|| self.status_of(row));
        format!("{text}  {s}").trim_end().to_string()
    }

    /// Asked between frames: the first time, it starts reading the statuses.
    fn changed(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.load_in_background();
        self.loaded.load(Ordering::SeqCst) && !self.announced.swap(true, Ordering::SeqCst)
    }
}

/// The account and role a profile leads to: from its role ARN, or its SSO account and role.
pub fn account_and_role(
    profiles: &aws_config::profile::ProfileSet,
    name: &str,
) -> (Option<String>, Option<String>) {
    let p = profiles.get_profile(name);
    account_and_role_of(|k| p.and_then(|p| p.get(k)))
}

/// `account_and_role`, from a profile's keys.
fn account_and_role_of<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> (Option<String>, Option<String>) {
    let (account, role) = account_and_role_ref(get);
    (account.map(String::from), role.map(String::from))
}

/// `account_and_role_of`, borrowed.
fn account_and_role_ref<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> (Option<&'a str>, Option<&'a str>) {
    match (get("role_arn"), get("sso_account_id")) {
        (Some(arn), _) => (arn.split(':').nth(4), arn.rsplit('/').next()),
        (None, Some(account)) => (Some(account), get("sso_role_name")),
        _ => (None, None),
    }
}

/// When the cached role credentials of a profile expire, read without any request: one
/// listing of the cache folder, so a profile without an entry costs no file access.
pub struct CachedCredentials<'a> {
    ctx: &'a Context,
    cache: Option<crate::cache::Cache>,
}

impl<'a> CachedCredentials<'a> {
    pub fn new(ctx: &'a Context) -> CachedCredentials<'a> {
        CachedCredentials {
            ctx,
            cache: crate::cache::Cache::open(CacheMode::Use, ctx.env()).ok(),
        }
    }

    /// For a role profile (assumed with every option at its default).
    pub fn until(&self, name: &str) -> Option<i64> {
        let cache = self.cache.as_ref()?;
        let kind = crate::aws_files::kind(self.ctx.profiles().ok()?.get_profile(name)?);
        if kind != "role" {
            return None;
        }
        engine::plan(self.ctx, Request::new(name).ok()?)
            .ok()?
            .cached_until(cache)
    }
}

/// Rows as aligned columns, two spaces apart, no trailing blanks. Every cell is sanitised as
/// messages are (control characters escaped, one line): a shared config or a portal must
/// not reach the terminal with escape sequences.
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| crate::error::escape_controls(c)).collect())
        .collect();
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
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(&format!("{cell:w$}  ", w = widths[i]));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
