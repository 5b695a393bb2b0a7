//! `stsenv console`: the AWS console in a browser, signed in with a target's credentials (got
//! as `assume` gets them) or with this shell's, through the partition's federation endpoint;
//! the browser gets a one-time link to the sign-in URL, in a context of the profile's own with
//! `--isolate` (whose contexts `--list-contexts` and `--forget` show and remove).

use std::path::PathBuf;
use std::time::Duration;

use crate::browser::{self, Family, In, Named, Opened};
use crate::browser_context::{Contexts, Forgot};
use crate::cli::{AssumeFlags, ConsoleArgs};
use crate::cmd::{table, Output};
use crate::context::Context;
use crate::engine::{self, default_timeout, Origin, Planned, Request, Target};
use crate::env::Env;
use crate::error::{say, Error};
use crate::federation::{self, Partition};
use crate::net::{self, Net};
use crate::onetime::{self, OneTime, Outcome};
use crate::session::{Credentials, Held};
use crate::sts::Sts;
use crate::{time, validate, verbose};

/// Points stsenv at another federation endpoint, as `--federation-url` does (a test hook:
/// the `assume -c` shortcut of the hooks runs `stsenv console` without flags).
const FEDERATION_VAR: &str = "STSENV_FEDERATION_URL";

/// `--isolate` for every run (1 or true; 0 or false turns a profile's key off).
const ISOLATE_VAR: &str = "STSENV_CONSOLE_ISOLATE";
/// The profile keys (in the profile, else in `[default]`).
const ISOLATE_KEY: &str = "stsenv_console_isolate";
const BROWSER_KEY: &str = "stsenv_browser";

/// How long the one-time link waits for the browser, in milliseconds (a test hook: a browser
/// that never comes would otherwise hold a test for a minute).
const LINK_MS_VAR: &str = "STSENV_ONE_TIME_URL_MS";

/// Words added to the command line of a Chromium-family browser stsenv starts (a test hook:
/// the tests' headless Chromium needs flags no user's browser gets).
const CHROMIUM_FLAGS_VAR: &str = "STSENV_CHROMIUM_FLAGS";

/// The session policy of GetFederationToken: the federated user gets the intersection of it
/// and the IAM user's own policies, so allowing everything passes the user's permissions
/// through (with none, the session could do nothing).
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Credentials to sign in with, and what the sign-in needs to know of them.
struct Signer {
    creds: Credentials,
    /// Who they are, for "opened the console for …": the target as typed, or the shell's
    /// STSENV_PROFILE.
    name: String,
    /// The same as the subject of a sentence: "the credentials of prod-admin".
    phrase: String,
    role_arn: Option<String>,
    /// A region that was given or configured.
    region: Option<String>,
    /// None for the shell's credentials, whose story stsenv doesn't know.
    origin: Option<Origin>,
    /// `--duration`: the console session's length.
    duration: Option<u32>,
    timeout: Duration,
    endpoint_url: Option<String>,
    /// The profile whose settings (ca_bundle, endpoint_url) apply to the requests.
    profile: Option<String>,
}

/// How the credentials sign in.
enum Way {
    /// As they are, with this console session length (SessionDuration) if any.
    AsThey(Option<u32>),
    /// Long-term keys: through GetFederationToken first, lasting this long if given.
    Federated(Option<u32>),
}

pub fn run(ctx: &Context, args: &ConsoleArgs) -> Result<Output, Error> {
    if args.list_contexts {
        return list_contexts(ctx);
    }
    if let Some(name) = &args.forget {
        return forget(ctx, name);
    }
    let env = ctx.env();
    let service = args
        .service
        .as_deref()
        .map(federation::check_service)
        .transpose()?;
    let federation = args
        .federation_url
        .clone()
        .or_else(|| env.var(FEDERATION_VAR));
    if let Some(url) = &federation {
        validate::endpoint_url(url)?;
    }
    let who = match &args.target {
        Some(target) => Who::Target(Box::new(prepare(ctx, target, &args.flags)?)),
        // No credentials in this shell: pick a profile, on a terminal.
        None if env.get("AWS_ACCESS_KEY_ID").is_none()
            && !args.flags.no_input
            && crate::tty::interactive() =>
        {
            Who::Target(Box::new(prepare(
                ctx,
                &super::pick_target(ctx, false)?,
                &args.flags,
            )?))
        }
        None => Who::Shell(Box::new(from_shell(ctx, &args.flags)?)),
    };
    // Which browser, before any request or MFA prompt: a missing one fails at once.
    let owner = match &who {
        Who::Target(p) => Owner::of_target(p.planned.request()),
        Who::Shell(_) => Owner::of_shell(env),
    };
    let route = route(ctx, args, &owner)?;
    let signer = match who {
        Who::Target(p) => assumed(ctx, *p)?,
        Who::Shell(s) => *s,
    };
    let partition = Partition::of(signer.role_arn.as_deref(), signer.region.as_deref())?;
    // A region of another partition than the role's (us-east-1 for an aws-cn role, say) has
    // no console there: the partition's first region stands in.
    let region = signer
        .region
        .clone()
        .filter(|r| Partition::of(None, Some(r)).ok() == Some(partition))
        .unwrap_or_else(|| partition.default_region().to_string());
    let destination = match &args.destination {
        Some(d) => federation::destination(d, partition, &region)?,
        None => federation::console_url(partition, &region, service.as_deref()),
    };
    let federation = federation.unwrap_or_else(|| partition.federation_url().to_string());
    verbose::say(|| {
        format!(
            "console: partition {}, federation endpoint {}, destination {destination}",
            partition.name(),
            net::site_of(&federation)
        )
    });
    // Said only once the sign-in worked: a failure is one line.
    let mut notes = Vec::new();
    let way = way(&signer, &mut notes);
    let net = ctx.net(signer.timeout, signer.profile.as_deref())?;
    let url = net::runtime()?.block_on(async {
        let (creds, session_duration) = match way {
            Way::AsThey(d) => (signer.creds.clone(), d),
            Way::Federated(d) => (
                federated(ctx, &net, &signer, &region, d, &mut notes).await?,
                None,
            ),
        };
        let token =
            federation::signin_token(&net, &federation, &creds, session_duration, &signer.name)
                .await?;
        Ok::<_, Error>(federation::login_url(&federation, &token, &destination))
    })?;
    for n in &notes {
        say(n);
    }
    deliver(ctx, route, &signer.name, &url)
}

/// Where the credentials come from: a target still to assume, or the shell's.
enum Who {
    Target(Box<Pending>),
    Shell(Box<Signer>),
}

/// A target planned, not yet assumed.
struct Pending {
    planned: Planned,
    origin: Origin,
    duration: Option<u32>,
}

/// The target planned as `stsenv assume TARGET` plans it, and checked for the console: no
/// request, no prompt.
fn prepare(ctx: &Context, target: &str, flags: &AssumeFlags) -> Result<Pending, Error> {
    let mut req = super::request(target, flags)?;
    if let Target::RoleArn(arn) = &req.target {
        // Before any request: a role of a partition without a console is no use assumed.
        Partition::of(Some(arn), None)?;
    }
    // Here --duration is the console session's length: the role's credentials stay the ones
    // `assume` gets and caches.
    let duration = req.role.duration.take();
    let planned = engine::plan(ctx, req)?;
    let origin = planned.origin()?;
    if origin == Origin::MfaSession {
        return Err(Error::Console(format!(
            "profile '{target}' gives an MFA session (GetSessionToken), which the AWS console does not take: open the console for a role behind it instead"
        )));
    }
    if duration.is_some_and(|d| origin == Origin::DirectRole && d > validate::MAX_DURATION) {
        return Err(Error::bad(
            "duration",
            flags.duration.as_deref().unwrap_or_default(),
            "a role's console session lasts 12 h (43200 s) at most",
        ));
    }
    Ok(Pending {
        planned,
        origin,
        duration,
    })
}

/// The target's credentials, exactly as `stsenv assume TARGET` gets them (cache, MFA, hops).
fn assumed(ctx: &Context, p: Pending) -> Result<Signer, Error> {
    let Pending {
        planned,
        origin,
        duration,
    } = p;
    let session = planned.obtain()?;
    let req = planned.request();
    super::used(ctx, req);
    let profile = planned.config_profile().map(String::from);
    Ok(Signer {
        creds: session.credentials,
        name: req.target_text.clone(),
        phrase: format!("the credentials of {}", req.target_text),
        role_arn: session.role_arn,
        region: session.region,
        origin: Some(origin),
        duration,
        timeout: req.timeout,
        endpoint_url: req.endpoint_url.clone(),
        profile,
    })
}

/// The credentials `assume` left in this shell's environment.
fn from_shell(ctx: &Context, flags: &AssumeFlags) -> Result<Signer, Error> {
    if let Some(flag) = target_only(flags)? {
        return Err(Error::Usage(format!(
            "{flag} is about assuming a target: name one (`stsenv console TARGET {flag} …`), or leave {flag} out to use this shell's credentials"
        )));
    }
    let held = Held::from_env(ctx.env());
    let Some(creds) = held.credentials else {
        return Err(Error::Usage(
            "no credentials in this shell to sign in with: name a role or profile (`stsenv console prod-admin`), or run `assume` first".into(),
        ));
    };
    let profile = held.profile;
    let expires = held.expires;
    if let Some(at) = expires.filter(|e| *e <= time::now()) {
        let again = match &profile {
            Some(p) => format!("`assume {p}`"),
            None => "`assume`".into(),
        };
        return Err(Error::Console(format!(
            "the credentials in this shell{} expired at {}: run {again} again, or name a target",
            profile
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default(),
            time::rfc3339(at)
        )));
    }
    let check = |v: &Option<String>, f: fn(&str) -> Result<(), Error>| {
        v.as_deref().map(f).transpose().map(|_| v.clone())
    };
    let region = match check(&flags.region, validate::region)? {
        Some(r) => Some(r),
        None => engine::region(None, ctx.profiles()?, None, ctx.env()),
    };
    let timeout = match &flags.timeout {
        Some(t) => validate::timeout(t)?,
        None => default_timeout(),
    };
    Ok(Signer {
        creds,
        name: profile
            .clone()
            .unwrap_or_else(|| "this shell's credentials".into()),
        phrase: match &profile {
            Some(p) => format!("the credentials in this shell ({p})"),
            None => "the credentials in this shell".into(),
        },
        role_arn: held.role_arn,
        region,
        origin: None,
        duration: flags
            .duration
            .as_deref()
            .map(validate::session_duration)
            .transpose()?,
        timeout,
        endpoint_url: check(&flags.endpoint_url, validate::endpoint_url)?,
        profile: None,
    })
}

/// The first option given that only makes sense with a target to assume: every AssumeRole
/// option but `--duration` (here the console session's), and what picks or caches a source.
fn target_only(f: &AssumeFlags) -> Result<Option<&'static str>, Error> {
    if f.profile.is_some() {
        return Ok(Some("--profile"));
    }
    let role = super::role_options(f, false)?;
    if let Some(o) = role.given().find(|o| o.flag != "--duration") {
        return Ok(Some(o.flag));
    }
    let others: [(&'static str, bool); 3] = [
        ("--mfa-session-duration", f.mfa_session_duration.is_some()),
        ("--no-cache", f.no_cache),
        ("--refresh", f.refresh),
    ];
    Ok(others.into_iter().find_map(|(flag, g)| g.then_some(flag)))
}

/// Whether the credentials sign in as they are, and with which session length: only a role
/// assumed directly with IAM user keys may choose it (the endpoint refuses it otherwise).
fn way(s: &Signer, notes: &mut Vec<String>) -> Way {
    if s.creds.session_token.is_none() {
        return Way::Federated(s.duration);
    }
    let Some(d) = s.duration else {
        return Way::AsThey(None);
    };
    let why = match s.origin {
        Some(Origin::DirectRole) => return Way::AsThey(Some(d)),
        Some(_) => "for role-chained credentials (a role assumed with temporary credentials)",
        None => "for credentials taken from the shell (only for a role assumed directly with IAM user keys)",
    };
    let until = s
        .creds
        .expires
        .map(|e| format!(", until {}", time::rfc3339(e)))
        .unwrap_or_default();
    notes.push(format!(
        "the console session's length can't be chosen {why}, so --duration is left out: it lasts as long as the credentials{until}"
    ));
    Way::AsThey(None)
}

/// Session credentials for long-term IAM user keys, which can't sign in themselves.
async fn federated(
    ctx: &Context,
    net: &Net,
    s: &Signer,
    region: &str,
    duration: Option<u32>,
    notes: &mut Vec<String>,
) -> Result<Credentials, Error> {
    // As the default role session name, cut to the 32 characters a federated user may have.
    let name: String = validate::default_session_name(ctx.user())
        .chars()
        .take(32)
        .collect();
    let sts = Sts::new(net, region, s.endpoint_url.as_deref(), s.profile.as_deref()).await;
    verbose::say(|| {
        format!(
            "GetFederationToken as {name} with an allow-all session policy at {}",
            sts.endpoint()
        )
    });
    let label = format!("of {}", s.name);
    let (creds, _) = sts
        .get_federation_token(&s.creds, &name, duration, ALLOW_ALL, &label)
        .await?;
    let until = creds
        .expires
        .map(|e| format!(", until {}", time::rfc3339(e)))
        .unwrap_or_default();
    notes.push(format!(
        "{} are long-term IAM user keys, which can't sign in to the console: signed in as the federated user {name} instead (GetFederationToken, with the IAM user's own permissions{until})",
        s.phrase
    ));
    Ok(creds)
}

/// Whose console it is, as the browser context sees it.
struct Owner {
    /// The profile whose stsenv_browser and stsenv_console_isolate apply (before
    /// `[default]`'s).
    settings: Option<String>,
    /// The name of its browser context: the profile's, else an account id; None when the
    /// credentials say neither.
    context: Option<String>,
}

impl Owner {
    fn of_target(req: &Request) -> Owner {
        match &req.target {
            Target::Profile(p) => Owner {
                settings: Some(p.clone()),
                context: Some(p.clone()),
            },
            Target::RoleArn(arn) => Owner {
                settings: None,
                context: account_of(arn),
            },
            Target::Root(_) => Owner {
                settings: None,
                context: Some(req.target_text.clone()),
            },
        }
    }

    /// The shell's credentials: the profile `assume` named in STSENV_PROFILE (the account of
    /// a role ARN assumed), else the account of STSENV_ROLE_ARN.
    fn of_shell(env: &Env) -> Owner {
        match env.var("STSENV_PROFILE") {
            Some(p) if p.starts_with("arn:") => Owner {
                settings: None,
                context: account_of(&p),
            },
            Some(p) => Owner {
                settings: Some(p.clone()),
                context: Some(p),
            },
            None => Owner {
                settings: None,
                context: env.get("STSENV_ROLE_ARN").and_then(account_of),
            },
        }
    }
}

/// The 12-digit account of an ARN.
fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .map(String::from)
}

/// Where the sign-in URL goes.
enum Route {
    /// stdout (`--print`).
    Print,
    /// The terminal (`--no-browser`).
    Terminal,
    /// `$BROWSER`, else the platform's opener.
    Default,
    /// A browser stsenv starts itself, in a context of the profile's own if `own` says so.
    Named {
        browser: &'static Named,
        exe: PathBuf,
        own: Own,
    },
}

enum Own {
    Usual,
    Folder(PathBuf),
    Container(String),
}

/// A profile key of the owner's profile, else of `[default]`: its value and the profile.
fn setting(ctx: &Context, owner: &Owner, key: &str) -> Result<Option<(String, String)>, Error> {
    let profiles = ctx.profiles()?;
    let names = owner.settings.iter().map(String::as_str).chain(["default"]);
    for name in names {
        let value = profiles.get_profile(name).and_then(|p| p.get(key));
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            return Ok(Some((v.to_string(), name.to_string())));
        }
    }
    Ok(None)
}

fn truth(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Where the sign-in URL will go, from the flags, the environment and the profile's keys (in
/// that order, as the AWS CLI ranks them); a context folder is made here.
fn route(ctx: &Context, args: &ConsoleArgs, owner: &Owner) -> Result<Route, Error> {
    if args.print {
        return Ok(Route::Print);
    }
    if args.no_browser {
        return Ok(Route::Terminal);
    }
    let env = ctx.env();
    let isolate = if args.isolate {
        true
    } else if let Some(v) = env.get(ISOLATE_VAR) {
        truth(v).ok_or_else(|| Error::bad(ISOLATE_VAR, v, "expected 1 or 0 (true or false)"))?
    } else {
        match setting(ctx, owner, ISOLATE_KEY)? {
            Some((v, profile)) => truth(&v).ok_or_else(|| Error::ProfileValue {
                profile,
                key: ISOLATE_KEY,
                why: format!("is '{v}', not true or false"),
            })?,
            None => false,
        }
    };
    let (key, said) = match &args.browser {
        Some(k) => (Some(k.clone()), format!("--browser {k}")),
        None => match setting(ctx, owner, BROWSER_KEY)? {
            Some((v, profile)) => {
                if !browser::KEYS.contains(&v.as_str()) {
                    return Err(Error::ProfileValue {
                        profile,
                        key: BROWSER_KEY,
                        why: format!("is '{v}', not one of {}", browser::KEYS.join(", ")),
                    });
                }
                let said = format!("{BROWSER_KEY} = {v} (profile {profile})");
                (Some(v), said)
            }
            None => (None, String::new()),
        },
    };
    let installed = |b: &'static Named| {
        b.find(env).ok_or_else(|| {
            Error::Console(format!(
                "{said}: {} is not installed (no {} found); `stsenv console --print` prints the sign-in URL instead, for you to open in any browser",
                b.key,
                b.looked_for()
            ))
        })
    };
    if !isolate {
        // $BROWSER, set for this shell, goes before a key of the config; a flag before both.
        let named = key
            .as_deref()
            .and_then(browser::named)
            .filter(|_| args.browser.is_some() || env.get("BROWSER").is_none());
        return Ok(match named {
            Some(b) => Route::Named {
                browser: b,
                exe: installed(b)?,
                own: Own::Usual,
            },
            None => Route::Default,
        });
    }
    let every = browser::KEYS[..7].join(", ");
    let (b, exe) = match key.as_deref() {
        Some("default") => {
            return Err(Error::Console(format!(
                "{said}: --isolate starts the browser itself, in a context of the profile's own, which `default` ($BROWSER or the system's opener) can't give: name the browser ({every}) with --browser or {BROWSER_KEY}"
            )))
        }
        Some(k) => {
            let b = browser::named(k).expect("a key of browser::KEYS");
            (b, installed(b)?)
        }
        None => browser::first_installed(env).ok_or_else(|| {
            Error::Console(format!(
                "no browser for --isolate: none of {} is installed (on PATH){}; install one or name it with --browser, or `stsenv console --print` prints the sign-in URL instead",
                browser::KEYS[..6].join(", "),
                if env.get("BROWSER").is_some() { ", and $BROWSER can't keep a context of its own" } else { "" }
            ))
        })?,
    };
    let Some(name) = owner.context.clone() else {
        return Err(Error::Console(
            "--isolate keeps a browser context per profile, and the credentials in this shell name none (no STSENV_PROFILE): name the target (`stsenv console prod --isolate`)".into(),
        ));
    };
    let own = match b.family {
        Family::Chromium => Own::Folder(
            Contexts::locate(env)?
                .ensure(&name)
                .map_err(|e| Error::File(format!("cannot keep a browser context: {e}")))?,
        ),
        Family::Firefox(_) => Own::Container(name),
    };
    Ok(Route::Named {
        browser: b,
        exe,
        own,
    })
}

/// The sign-in URL, where it may go: stdout for `--print`, the terminal for `--no-browser`,
/// else a browser, which gets a one-time link to it on 127.0.0.1 rather than the URL itself
/// (a command line is there for every local user to read), and this run waits until it came
/// for it. Never stderr, never --verbose.
fn deliver(ctx: &Context, route: Route, name: &str, url: &str) -> Result<Output, Error> {
    let env = ctx.env();
    match route {
        Route::Print => return Ok(Output::Text(format!("{url}\n"))),
        Route::Terminal => return show(name, url, ""),
        Route::Default | Route::Named { .. } => {}
    }
    let signin = match browser::safe_url(url) {
        Ok(u) => u,
        Err(why) => {
            return show(
                name,
                url,
                &format!("the sign-in URL is not one stsenv opens ({why}); "),
            )
        }
    };
    let lifetime = env
        .get(LINK_MS_VAR)
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(onetime::LIFETIME);
    let link = match OneTime::start(&signin, lifetime) {
        Ok(l) => l,
        Err(e) => {
            return show(
                name,
                url,
                &format!("cannot serve a one-time sign-in link on 127.0.0.1 ({e}); "),
            )
        }
    };
    let served = || link.served();
    let (program, how, hint) = match route {
        Route::Named { browser, exe, own } => {
            let extra = match browser.family {
                Family::Chromium => env
                    .get(CHROMIUM_FLAGS_VAR)
                    .and_then(crate::shell::split_posix_words)
                    .unwrap_or_default(),
                Family::Firefox(_) => Vec::new(),
            };
            let (inside, how, hint) = match &own {
                Own::Usual => (In::Usual, String::new(), ""),
                Own::Folder(dir) => (
                    In::Folder(dir),
                    format!(", in a browser context of its own ({})", dir.display()),
                    "",
                ),
                Own::Container(c) => (
                    In::Container(c),
                    format!(", in its container '{c}'"),
                    " (is its container extension installed? Firefox hands it the link)",
                ),
            };
            let argv = browser.argv(&exe, inside, link.url(), &extra);
            if let Err(why) = browser::start(&argv, &served, lifetime) {
                link.cancel();
                let why = format!(
                    "could not start {} ({}): {why}; ",
                    browser.key,
                    exe.display()
                );
                return show(name, url, &why);
            }
            (browser.key.to_string(), how, hint)
        }
        _ => match browser::open_until(link.url(), &served) {
            Opened::With(program) => (program, String::new(), ""),
            failed => {
                link.cancel();
                let why = match failed {
                    Opened::NoDisplay => "no display to start a browser on (neither DISPLAY nor WAYLAND_DISPLAY is set, nor BROWSER); ".to_string(),
                    Opened::Failed(why) => format!("could not start a browser: {why}; "),
                    Opened::Refused(why) => {
                        format!("the one-time link is not one stsenv opens ({why}); ")
                    }
                    Opened::With(_) => String::new(),
                };
                return show(name, url, &why);
            }
        },
    };
    match link.wait() {
        Outcome::Served => {
            say(&format!("opened the AWS console for {name} with {program}{how}"));
            Ok(Output::Text(String::new()))
        }
        Outcome::Expired | Outcome::Cancelled => Err(Error::Console(format!(
            "{program} did not come for the one-time sign-in link within {}{hint}, so nothing was signed in: run it again, or `--print` prints the sign-in URL for you to open",
            seconds(lifetime)
        ))),
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The sign-in URL on the terminal (stdout without one), saying `why` first.
fn show(name: &str, url: &str, why: &str) -> Result<Output, Error> {
    // Shown as it must be copied, but never with a control character in it.
    let url = crate::error::escape_controls(url);
    say(&format!(
        "{why}the sign-in URL for {name} follows: open it in a browser within 15 minutes, and share it with nobody (it signs in whoever has it)"
    ));
    if browser::to_terminal(&format!("{url}\n")) {
        Ok(Output::Text(String::new()))
    } else {
        Ok(Output::Text(format!("{url}\n")))
    }
}

/// `--list-contexts`: a table on stdout (names and folders, no secret).
fn list_contexts(ctx: &Context) -> Result<Output, Error> {
    let contexts = Contexts::locate(ctx.env())?;
    let list = contexts.list().map_err(Error::File)?;
    if list.is_empty() {
        say(&format!(
            "no browser contexts in {} yet: `stsenv console PROFILE --isolate` makes one",
            contexts.root().display()
        ));
        return Ok(Output::Text(String::new()));
    }
    let mut rows = vec![["PROFILE", "OPEN", "FOLDER"].map(String::from).to_vec()];
    for c in list {
        rows.push(vec![
            c.name,
            c.in_use.map_or(String::new(), |pid| format!("pid {pid}")),
            c.path.display().to_string(),
        ]);
    }
    Ok(Output::Text(table(&rows)))
}

/// `--forget PROFILE`: removes that context's folder, unless its browser is open.
fn forget(ctx: &Context, name: &str) -> Result<Output, Error> {
    let contexts = Contexts::locate(ctx.env())?;
    match contexts.forget(name).map_err(Error::File)? {
        Forgot::Removed(path) => {
            say(&format!(
                "forgot the browser context of {name}: removed {}",
                path.display()
            ));
            Ok(Output::Text(String::new()))
        }
        Forgot::NotFound => Err(Error::Console(format!(
            "there is no browser context of {name} in {}: `stsenv console --list-contexts` lists them (Firefox containers are removed in Firefox)",
            contexts.root().display()
        ))),
        Forgot::InUse(pid) => Err(Error::Console(format!(
            "the browser context of {name} is open (its browser runs as pid {pid}): close that browser first"
        ))),
    }
}
