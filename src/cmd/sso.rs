//! `stsenv sso sync [SESSION]`: writes a profile into the AWS config for every account and
//! role an SSO session reaches, and keeps them in step on later runs.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};

use crate::aws_files::{config_path, CONFIG_VAR};
use crate::cli::{SsoAction, SyncArgs};
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, default_timeout};
use crate::error::{say, warn, Error};
use crate::fsutil::edit_file;
use crate::net;
use crate::sso::generate::{self, Change, Found};
use crate::sso::portal::{self, ListError};
use crate::sso::SsoConfig;

pub fn run(ctx: &Context, action: SsoAction) -> Result<Output, Error> {
    match action {
        SsoAction::Sync(args) => sync(ctx, &args),
    }
}

fn sync(ctx: &Context, args: &SyncArgs) -> Result<Output, Error> {
    let template = args
        .name_template
        .as_deref()
        .unwrap_or(generate::DEFAULT_TEMPLATE);
    generate::check_template(template)?;
    if let Some(r) = &args.region {
        crate::validate::region(r)?;
    }
    let profiles = ctx.profiles()?;
    let session = match &args.session {
        Some(s) => s.clone(),
        None => {
            let all: Vec<&str> = profiles.sso_sessions().collect();
            match all.as_slice() {
                [only] => only.to_string(),
                [] => {
                    return Err(Error::Sso(
                        "there is no [sso-session] in the AWS config: add one (sso_start_url, sso_region) and run stsenv login".into(),
                    ))
                }
                many => {
                    return Err(Error::Sso(format!(
                        "there are several SSO sessions ({}): name the one to sync",
                        many.join(", ")
                    )))
                }
            }
        }
    };
    let cfg = SsoConfig::from_session(profiles, &session)?;
    let region = args.region.clone().unwrap_or_else(|| cfg.region.clone());
    let net = ctx.net(default_timeout(), None)?;
    let rt = net::runtime()?;
    let progress = Progress::new();
    let (found, failed, skipped) = rt.block_on(async {
        let token = engine::ensure_sso_token(
            ctx,
            &cfg,
            &net,
            !args.no_login,
            &format!("--sso-session {session}"),
        )
        .await?;
        let client = portal::client(&net, &cfg.region).await;
        let listed = portal::accounts(&client, &net, &cfg.region, &token.access_token)
            .await
            .map_err(|e| listing_failed(&cfg, &session, &e))?;
        // An id that is not an account id is never asked about, nor written.
        let (accounts, odd): (Vec<_>, Vec<_>) = listed
            .into_iter()
            .partition(|a| crate::validate::is_account_id(&a.id));
        let total = accounts.len();
        let roles = portal::all_roles(
            &client,
            &net,
            &cfg.region,
            &token.access_token,
            &accounts,
            &|done| progress.show(done, total),
        )
        .await;
        progress.end();
        let mut found = Vec::new();
        let mut failed = Vec::new();
        for (account, roles) in accounts.iter().zip(roles) {
            match roles {
                Ok(list) => found.extend(list.into_iter().map(|role| Found {
                    account_id: account.id.clone(),
                    account_name: account.name.clone(),
                    role,
                })),
                Err(e) => failed.push((account.clone(), e)),
            }
        }
        let skipped: Vec<Found> = odd
            .into_iter()
            .map(|a| Found {
                account_id: a.id,
                account_name: a.name,
                role: String::new(),
            })
            .chain(found.extract_if(.., |f| !f.writable()))
            .collect();
        Ok::<_, Error>((found, failed, skipped))
    })?;
    for f in &skipped {
        let account = format!(
            "account {} ({})",
            f.account_id,
            generate::clean(&f.account_name)
        );
        warn(&if f.role.is_empty() {
            format!("skipped {account}: its id is not 12 digits, so it is no AWS account id; nothing is written for it")
        } else {
            format!("skipped a role of {account}: its name is not an IAM role name (letters, digits and _+=,.@-, up to 64); no profile is written for it")
        });
    }
    for (account, e) in &failed {
        warn(&format!(
            "could not list the roles of account {} ({}): {e}; its profiles are kept as they are",
            account.name, account.id
        ));
    }
    // Accounts with a value skipped keep their sections, even with --prune, as if their
    // listing had failed: what the portal said of them can't be trusted.
    let failed_ids: HashSet<String> = failed
        .iter()
        .map(|(a, _)| a.id.clone())
        .chain(skipped.iter().map(|f| f.account_id.clone()))
        .collect();
    let (wanted, clashes) = generate::profiles(&found, template, &session, &region);
    for name in &clashes {
        warn(&format!(
            "two roles would both be named {name}; only the first is written (put {{account_id}} in --name-template)"
        ));
    }
    let path =
        config_path(ctx.env(), CONFIG_VAR, ".aws/config").ok_or(Error::NoHome(CONFIG_VAR))?;
    let summary = std::cell::RefCell::new(String::new());
    let mut dry = String::new();
    edit_file(&path, None, |text| {
        let d = generate::diff(text, &session, &wanted, &failed_ids, args.prune);
        for (name, whose) in &d.skipped {
            warn(&format!(
                "profile {name} exists and is {whose}: left as it is, so that role gets no profile"
            ));
        }
        let count = |f: fn(&Change) -> bool| d.changes.iter().filter(|c| f(c)).count();
        let (added, changed, removed) = (
            count(|c| matches!(c, Change::Add(_))),
            count(|c| matches!(c, Change::Update(_))),
            count(|c| matches!(c, Change::Remove(_))),
        );
        if args.dry_run {
            for c in &d.changes {
                let line = match c {
                    Change::Add(g) => format!(
                        "would add     [profile {}]  ({} {})",
                        g.name, g.account_id, g.role
                    ),
                    Change::Update(g) => format!(
                        "would change  [profile {}]  ({} {})",
                        g.name, g.account_id, g.role
                    ),
                    Change::Remove(n) => format!("would remove  [profile {n}]"),
                };
                dry.push_str(&crate::error::escape_controls(&line));
                dry.push('\n');
            }
            for n in &d.stale {
                dry.push_str(&crate::error::escape_controls(&format!(
                    "stale         [profile {n}]"
                )));
                dry.push('\n');
            }
        }
        let stale = match d.stale.len() {
            0 => String::new(),
            n => format!(
                "; {n} stale (roles no longer reached: {}), kept; --prune removes them",
                d.stale.join(", ")
            ),
        };
        *summary.borrow_mut() =
            if d.changes.is_empty() {
                format!(
                    "{}: up to date ({} profiles for {} roles){stale}",
                    path.display(),
                    d.unchanged,
                    wanted.len()
                )
            } else {
                format!(
                "{}{}: {added} added, {changed} changed, {removed} removed, {} unchanged{stale}",
                if args.dry_run { "dry run, nothing written: " } else { "" },
                path.display(),
                d.unchanged
            )
            };
        if args.dry_run || d.changes.is_empty() {
            return Ok(None);
        }
        generate::apply(text, &d.changes).map(Some)
    })?;
    say(&summary.into_inner());
    if !skipped.is_empty() {
        return Err(Error::Sso(format!(
            "the portal sent {} value{} that {} not AWS account ids or IAM role names, skipped as said above; tell whoever runs IAM Identity Center, and check for a proxy that alters answers",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            if skipped.len() == 1 { "is" } else { "are" },
        )));
    }
    if !failed.is_empty() {
        let names: Vec<String> = failed
            .iter()
            .map(|(a, _)| format!("{} ({})", a.name, a.id))
            .collect();
        return Err(Error::Sso(format!(
            "the roles of {} could not be listed; run stsenv sso sync again to complete it",
            names.join(", ")
        )));
    }
    Ok(Output::Text(dry))
}

fn listing_failed(cfg: &SsoConfig, session: &str, e: &ListError) -> Error {
    match e {
        ListError::Unauthorized => Error::SsoLoginNeeded {
            what: format!("the portal no longer accepts the token of {}", cfg.label()),
            profile: format!("--sso-session {session}"),
        },
        ListError::Other(why) => Error::Sso(format!(
            "could not list the accounts of {}: {why}",
            cfg.label()
        )),
    }
}

/// `listing roles: 37/120 accounts` on stderr, redrawn in place, when it is a terminal.
struct Progress {
    live: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            live: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: usize, total: usize) {
        if self.live {
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2Klisting roles: {done}/{total} accounts"
            );
        }
    }

    fn end(&self) {
        if self.live {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
