//! `stsenv console`: the AWS console in a browser, signed in with a target's credentials (got
//! as `assume` gets them) or with this shell's, through the partition's federation endpoint.

use std::time::Duration;

use crate::browser::{self, Opened};
use crate::cli::{AssumeFlags, ConsoleArgs};
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, default_timeout, Origin, Target};
use crate::error::{say, Error};
use crate::federation::{self, Partition};
use crate::net::{self, Net};
use crate::session::{Credentials, Held};
use crate::sts::Sts;
use crate::{time, validate, verbose};

/// Points stsenv at another federation endpoint, as `--federation-url` does (a test hook:
/// the `assume -c` shortcut of the hooks runs `stsenv console` without flags).
const FEDERATION_VAR: &str = "STSENV_FEDERATION_URL";

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
    let signer = match &args.target {
        Some(target) => assumed(ctx, target, &args.flags)?,
        // No credentials in this shell: pick a profile, on a terminal.
        None if env.get("AWS_ACCESS_KEY_ID").is_none()
            && !args.flags.no_input
            && crate::tty::interactive() =>
        {
            assumed(ctx, &super::pick_target(ctx, false)?, &args.flags)?
        }
        None => from_shell(ctx, &args.flags)?,
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
    deliver(args, &signer.name, &url)
}

/// The target's credentials, exactly as `stsenv assume TARGET` gets them (cache, MFA, hops).
fn assumed(ctx: &Context, target: &str, flags: &AssumeFlags) -> Result<Signer, Error> {
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

/// The sign-in URL, where it may go: stdout for `--print`, else a browser, else the terminal
/// (stdout without one). Never stderr, never --verbose.
fn deliver(args: &ConsoleArgs, name: &str, url: &str) -> Result<Output, Error> {
    if args.print {
        return Ok(Output::Text(format!("{url}\n")));
    }
    let why = if args.no_browser {
        String::new()
    } else {
        match browser::open(url) {
            Opened::With(program) => {
                say(&format!("opened the AWS console for {name} with {program}"));
                return Ok(Output::Text(String::new()));
            }
            Opened::NoDisplay => "no display to start a browser on (neither DISPLAY nor WAYLAND_DISPLAY is set, nor BROWSER); ".to_string(),
            Opened::Failed(why) => format!("could not start a browser: {why}; "),
            Opened::Refused(why) => format!("the sign-in URL is not one stsenv opens ({why}); "),
        }
    };
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
