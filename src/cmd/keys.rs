//! `stsenv keys`: long-term IAM user keys in the OS keyring instead of ~/.aws/credentials
//! (add, export, import, list, remove, rotate). The AWS files change only once the keyring
//! holds what it must; a failure says which key is where.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::aws_files::{config_file_path, credentials_path};
use crate::cli::KeysAction;
use crate::cmd::{table, Output};
use crate::context::Context;
use crate::engine::{self, default_timeout, DEFAULT_REGION};
use crate::error::{say, Error};
use crate::fsutil::{edit_file, read_text};
use crate::iam::Iam;
use crate::ini;
use crate::keystore::{self, KeyringError, Keys};
use crate::net;
use crate::sts::Sts;
use crate::validate;
use crate::verbose;

const MAX_FILE_BYTES: u64 = 32 << 20;
const CREDENTIAL_PROCESS: &str = "credential_process";
/// What `import` takes out of a credentials file's section: the two keys, and a session
/// token line, which means nothing beside long-term keys.
const KEY_LINES: [&str; 4] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

pub fn run(ctx: &Context, action: KeysAction) -> Result<Output, Error> {
    match action {
        KeysAction::Add { profile, from_env } => add(ctx, &profile, from_env),
        KeysAction::Export { profile } => export(&profile),
        KeysAction::Import { profile, all } => import(ctx, profile.as_deref(), all),
        KeysAction::List => list(ctx),
        KeysAction::Remove { profile } => remove(ctx, &profile),
        KeysAction::Rotate { profile } => rotate(ctx, &profile),
    }
}

fn done() -> Output {
    Output::Text(String::new())
}

/// A profile's section in the config file: the headers it may have, and the one a new
/// section gets (the default profile is `[default]` there, the others `[profile NAME]`).
struct ConfigSection {
    names: Vec<String>,
    header: String,
}

impl ConfigSection {
    fn of(profile: &str) -> ConfigSection {
        match profile {
            "default" => ConfigSection {
                names: vec!["default".into(), "profile default".into()],
                header: "default".into(),
            },
            p => ConfigSection {
                names: vec![format!("profile {p}")],
                header: format!("profile {p}"),
            },
        }
    }

    fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// `text` with stsenv's credential_process line for `profile` in this section.
    fn with_line(&self, text: &str, command: &str) -> Result<String, Error> {
        ini::set_key(
            text,
            &self.names(),
            &self.header,
            CREDENTIAL_PROCESS,
            command,
        )
    }
}

/// The text of an AWS file ("" when it doesn't exist yet), and whether it exists.
fn read(path: &Path) -> Result<(String, bool), Error> {
    let text = read_text(path, MAX_FILE_BYTES).map_err(|why| {
        Error::File(format!(
            "cannot read {} ({why}); check that it is a UTF-8 text file you can read",
            path.display()
        ))
    })?;
    Ok((text.clone().unwrap_or_default(), text.is_some()))
}

/// The keys and values of the first section named one of `names`; None when there is none.
fn section_keys<'a>(text: &'a str, names: &[&str]) -> Option<Vec<(&'a str, &'a str)>> {
    let lines: Vec<&'a str> = text.split_inclusive('\n').collect();
    let s = ini::find(&lines, names)?;
    Some(ini::keys(&lines[s.start + 1..s.end]))
}

fn value<'a>(keys: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    keys.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .filter(|v| !v.is_empty())
}

/// The keys in `[profile]` of a credentials file's text.
fn keys_in(text: &str, profile: &str) -> Option<Keys> {
    let keys = section_keys(text, &[profile])?;
    Some(Keys {
        access_key_id: value(&keys, "aws_access_key_id")?.to_string(),
        secret_access_key: value(&keys, "aws_secret_access_key")?.to_string(),
    })
}

/// Why the profile's config section can't take stsenv's credential_process line, if it
/// can't: it gets credentials some other way, which the line would fight with.
fn config_conflict(text: &str, profile: &str, file: &Path) -> Option<String> {
    let section = ConfigSection::of(profile);
    let keys = section_keys(text, &section.names())?;
    let at = format!("[{}] in {}", section.header, file.display());
    if let Some(cp) = value(&keys, CREDENTIAL_PROCESS) {
        if keystore::own_export(cp).as_deref() != Some(profile) {
            return Some(format!(
                "{at} already has a credential_process of its own; remove that line first, or keep these keys under another profile name"
            ));
        }
    }
    let other = [
        "role_arn",
        "web_identity_token_file",
        "sso_session",
        "sso_start_url",
        "sso_account_id",
        "login_session",
    ];
    if let Some(k) = other.iter().find(|k| value(&keys, k).is_some()) {
        return Some(format!(
            "{at} gets its credentials from {k}; keep the keys in a profile of their own, and name that one as source_profile"
        ));
    }
    if value(&keys, "aws_access_key_id").is_some() {
        return Some(format!(
            "{at} holds aws_access_key_id itself, in plain text; take the key lines out of it first"
        ));
    }
    None
}

fn check_keys(keys: &Keys) -> Result<(), Error> {
    validate::access_key_id(&keys.access_key_id)?;
    validate::secret_access_key(&keys.secret_access_key)
}

// add

fn add(ctx: &Context, profile: &str, from_env: bool) -> Result<Output, Error> {
    crate::credentials_file::check_profile_name(profile)?;
    let env = ctx.env();
    let config = config_file_path(env)?;
    let (text, _) = read(&config)?;
    // Everything that would refuse comes before anyone types a key.
    if let Some(why) = config_conflict(&text, profile, &config) {
        return Err(Error::Keys(why));
    }
    if let Ok(file) = credentials_path(env) {
        if keys_in(&read(&file)?.0, profile).is_some() {
            return Err(Error::Keys(format!(
                "[{profile}] in {} already holds keys, in plain text, which AWS tools would use before the keyring's: move long-term ones into the keyring with `stsenv keys import {profile}`, or take the key lines out",
                file.display()
            )));
        }
    }
    let command = keystore::export_command(env, profile)?;
    let section = ConfigSection::of(profile);
    section.with_line(&text, &command)?;
    let keys = match from_env {
        true => keys_from_env(ctx)?,
        false => ask_keys(profile)?,
    };
    check_keys(&keys)?;
    keystore::store_verified(profile, &keys)?;
    edit_file(&config, None, |old| {
        if let Some(why) = config_conflict(old, profile, &config) {
            return Err(Error::Keys(why));
        }
        let new = section.with_line(old, &command)?;
        Ok((new != old).then_some(new))
    })
    .map_err(|e| {
        Error::Keys(format!(
            "the key {} of profile {profile} is in the OS keyring now, but {} could not be changed ({e}); add `{CREDENTIAL_PROCESS} = {command}` to [{}] yourself",
            keys.access_key_id,
            config.display(),
            section.header
        ))
    })?;
    say(&format!(
        "stored the access key {} of profile {profile} in the OS keyring (service {}); [{}] in {} gets it with `{command}`",
        keys.access_key_id,
        keystore::SERVICE,
        section.header,
        config.display()
    ));
    Ok(done())
}

fn keys_from_env(ctx: &Context) -> Result<Keys, Error> {
    let env = ctx.env();
    if env.get("AWS_SESSION_TOKEN").is_some() {
        return Err(Error::Keys(
            "AWS_SESSION_TOKEN is set, so the keys in the environment are temporary ones: give an IAM user's long-term keys (and no session token)".into(),
        ));
    }
    match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Keys {
            access_key_id: id.trim().to_string(),
            secret_access_key: secret.trim().to_string(),
        }),
        _ => Err(Error::Keys(
            "--from-env takes the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and they are not both set".into(),
        )),
    }
}

/// The key id (shown as typed) and the secret (not shown) from the terminal.
fn ask_keys(profile: &str) -> Result<Keys, Error> {
    if !crate::tty::interactive() {
        return Err(Error::Keys(format!(
            "no terminal to ask for the keys on: run `stsenv keys add {profile}` in a terminal, or pass --from-env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set"
        )));
    }
    let ask = |prompt: &str, echo: bool| -> Result<String, Error> {
        match crate::tty::ask_line(prompt, echo) {
            Ok(Some(line)) => Ok(line.trim().to_string()),
            Ok(None) => Err(Error::Keys("cancelled: nothing was stored".into())),
            Err(e) => Err(Error::Keys(format!("cannot read from the terminal: {e}"))),
        }
    };
    let id = ask(&format!("AWS access key id for profile {profile}: "), true)?;
    validate::access_key_id(&id)?;
    let secret = ask("AWS secret access key (not shown): ", false)?;
    Ok(Keys {
        access_key_id: id,
        secret_access_key: secret,
    })
}

// export

fn export(profile: &str) -> Result<Output, Error> {
    crate::credentials_file::check_profile_name(profile)?;
    match keystore::load(profile)? {
        Some(keys) => Ok(Output::Text(format!("{}\n", keys.process_json()))),
        None => Err(no_keys(profile)),
    }
}

fn no_keys(profile: &str) -> Error {
    Error::Keys(format!(
        "the OS keyring has no keys for profile {profile} (service {}); add them with `stsenv keys add {profile}`",
        keystore::SERVICE
    ))
}

// import

fn import(ctx: &Context, profile: Option<&str>, all: bool) -> Result<Output, Error> {
    let names: Vec<String> = match (profile, all) {
        (Some(p), _) => vec![p.to_string()],
        (None, _) => {
            let file = credentials_path(ctx.env())?;
            let (text, _) = read(&file)?;
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let names: Vec<String> = ini::sections(&lines)
                .iter()
                .filter(|s| {
                    keys_in(&text, s.name).is_some_and(|k| !k.access_key_id.starts_with("ASIA"))
                })
                .map(|s| s.name.to_string())
                .collect();
            if names.is_empty() {
                return Err(Error::Keys(format!(
                    "{} holds no long-term keys to import",
                    file.display()
                )));
            }
            names
        }
    };
    if let [only] = names.as_slice() {
        say(&import_one(ctx, only)?);
        return Ok(done());
    }
    let mut failed = Vec::new();
    for name in &names {
        match import_one(ctx, name) {
            Ok(said) => say(&said),
            Err(e) => failed.push(format!("{name} ({e})")),
        }
    }
    if failed.is_empty() {
        return Ok(done());
    }
    Err(Error::Keys(format!(
        "{} of {} profiles were not imported, and their files are as they were: {}",
        failed.len(),
        names.len(),
        failed.join("; ")
    )))
}

/// Moves the keys of `[profile]` into the keyring: stored, read back and compared first;
/// then the config gets the credential_process line and the credentials file loses the key
/// lines, each written atomically. A failure before the comparison leaves both files as
/// they were; one after it puts the config back.
fn import_one(ctx: &Context, profile: &str) -> Result<String, Error> {
    crate::credentials_file::check_profile_name(profile)?;
    let env = ctx.env();
    let creds = credentials_path(env)?;
    let config = config_file_path(env)?;
    let (creds_text, _) = read(&creds)?;
    let keys = keys_in(&creds_text, profile).ok_or_else(|| {
        Error::Keys(format!(
            "[{profile}] in {} holds no aws_access_key_id and aws_secret_access_key to import",
            creds.display()
        ))
    })?;
    check_keys(&keys)
        .map_err(|e| Error::Keys(format!("[{profile}] in {}: {e}", creds.display())))?;
    let (text, existed) = read(&config)?;
    if let Some(why) = config_conflict(&text, profile, &config) {
        return Err(Error::Keys(why));
    }
    let command = keystore::export_command(env, profile)?;
    let section = ConfigSection::of(profile);
    section.with_line(&text, &command)?;

    keystore::store_verified(profile, &keys)?;

    let mut written: Option<(String, String)> = None;
    edit_file(&config, None, |old| {
        if let Some(why) = config_conflict(old, profile, &config) {
            return Err(Error::Keys(why));
        }
        let new = section.with_line(old, &command)?;
        if new == old {
            return Ok(None);
        }
        written = Some((old.to_string(), new.clone()));
        Ok(Some(new))
    })
    .map_err(|e| {
        Error::Keys(format!(
            "the keys of profile {profile} are in the OS keyring now too, but {} could not be changed ({e}); {} still holds them, unchanged",
            config.display(),
            creds.display()
        ))
    })?;
    let moved = edit_file(&creds, None, |old| match keys_in(old, profile) {
        Some(k) if k == keys => Ok(ini::remove_keys(old, &[profile], &KEY_LINES, false)),
        _ => Err(Error::Keys(format!(
            "[{profile}] changed while stsenv was importing it; run the import again"
        ))),
    });
    if let Err(e) = moved {
        let undone = match &written {
            Some((before, after)) => undo_config(&config, profile, before, after, existed),
            None => true,
        };
        return Err(Error::Keys(format!(
            "the keys of profile {profile} are in the OS keyring now too, but could not be taken out of {} ({e}); they stay there, {}",
            creds.display(),
            match undone {
                true => format!("and {} is as it was", config.display()),
                false => format!(
                    "and [{}] in {} has `{CREDENTIAL_PROCESS} = {command}` (the same keys either way)",
                    section.header,
                    config.display()
                ),
            }
        )));
    }
    Ok(format!(
        "moved the access key {} of profile {profile} from {} into the OS keyring (service {}); [{}] in {} gets it with `{command}`",
        keys.access_key_id,
        creds.display(),
        keystore::SERVICE,
        section.header,
        config.display()
    ))
}

/// Puts the config back as it was before `after` was written over `before`: its old bytes
/// if nobody changed it since, else without stsenv's line. Whether it is as it was.
fn undo_config(config: &Path, profile: &str, before: &str, after: &str, existed: bool) -> bool {
    let section = ConfigSection::of(profile);
    let mut whole = false;
    let undone = edit_file(config, None, |current| {
        if current == after {
            whole = true;
            return Ok(Some(before.to_string()));
        }
        Ok(ini::remove_keys(
            current,
            &section.names(),
            &[CREDENTIAL_PROCESS],
            false,
        ))
    });
    if undone.is_ok() && whole && !existed && before.is_empty() {
        let _ = std::fs::remove_file(config);
    }
    undone.is_ok() && whole
}

// list

fn list(ctx: &Context) -> Result<Output, Error> {
    let profiles = ctx.profiles()?;
    // Which profiles of the config hand which keyring item to the AWS tools.
    let mut users: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for name in profiles.profiles() {
        let exported = profiles
            .get_profile(name)
            .and_then(|p| p.get(CREDENTIAL_PROCESS))
            .and_then(keystore::own_export);
        if let Some(item) = exported {
            users.entry(item).or_default().push(name.to_string());
        }
    }
    let mut items: Vec<String> = keystore::profiles()?.unwrap_or_default();
    items.extend(users.keys().cloned());
    items.sort();
    items.dedup();
    if items.is_empty() {
        say(&format!(
            "the OS keyring holds no keys of stsenv (service {}); add some with `stsenv keys add PROFILE` or `stsenv keys import PROFILE`",
            keystore::SERVICE
        ));
        return Ok(done());
    }
    let mut rows = vec![vec![
        "PROFILE".to_string(),
        "ACCESS KEY ID".to_string(),
        "NOTE".to_string(),
    ]];
    for item in &items {
        let (id, mut note) = match keystore::load(item) {
            Ok(Some(k)) => (k.access_key_id, String::new()),
            Ok(None) => ("-".into(), "no keys in the keyring".to_string()),
            Err(KeyringError::Malformed(_)) => ("-".into(), "an item stsenv did not write".into()),
            Err(e) => return Err(e.into()),
        };
        let used_by = users.get(item).cloned().unwrap_or_default();
        let by_others: Vec<&String> = used_by.iter().filter(|u| *u != item).collect();
        let extra = match (used_by.is_empty(), by_others.is_empty()) {
            (true, _) => "no profile uses it".to_string(),
            (false, true) => String::new(),
            (false, false) => format!(
                "used by {}",
                by_others
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if !extra.is_empty() {
            note = match note.is_empty() {
                true => extra,
                false => format!("{note}; {extra}"),
            };
        }
        rows.push(vec![item.clone(), id, note]);
    }
    Ok(Output::Text(table(&rows)))
}

// remove

fn remove(ctx: &Context, profile: &str) -> Result<Output, Error> {
    crate::credentials_file::check_profile_name(profile)?;
    let config = config_file_path(ctx.env())?;
    let held = keystore::load(profile).or_else(|e| match e {
        // An item that is not stsenv's JSON is still stsenv's to remove.
        KeyringError::Malformed(_) => Ok(None),
        e => Err(e),
    })?;
    let deleted = keystore::delete(profile)?;
    let section = ConfigSection::of(profile);
    let mut foreign = false;
    let mut line_removed = false;
    let edited = edit_file(&config, None, |old| {
        let Some(keys) = section_keys(old, &section.names()) else {
            return Ok(None);
        };
        match value(&keys, CREDENTIAL_PROCESS) {
            Some(cp) if keystore::own_export(cp).as_deref() == Some(profile) => {
                line_removed = true;
                Ok(ini::remove_keys(
                    old,
                    &section.names(),
                    &[CREDENTIAL_PROCESS],
                    true,
                ))
            }
            Some(_) => {
                foreign = true;
                Ok(None)
            }
            None => Ok(None),
        }
    });
    if let Err(e) = edited {
        return Err(Error::Keys(format!(
            "{}, but {} could not be changed ({e}): take `{CREDENTIAL_PROCESS} = … keys export {profile}` out of [{}] yourself",
            match deleted {
                true => format!("removed the keys of profile {profile} from the OS keyring"),
                false => format!("the OS keyring had no keys for profile {profile}"),
            },
            config.display(),
            section.header
        )));
    }
    if !deleted && !line_removed {
        return Err(Error::Keys(format!(
            "the OS keyring has no keys for profile {profile}, and [{}] in {} has no credential_process of stsenv's: nothing to remove",
            section.header,
            config.display()
        )));
    }
    let mut said = match (deleted, &held) {
        (true, Some(k)) => format!(
            "removed the access key {} of profile {profile} from the OS keyring",
            k.access_key_id
        ),
        (true, None) => format!("removed the keyring item of profile {profile}"),
        (false, _) => format!("the OS keyring had no keys for profile {profile}"),
    };
    if line_removed {
        said.push_str(&format!(
            ", and its credential_process line from {}",
            config.display()
        ));
    }
    if foreign {
        said.push_str(&format!(
            "; [{}] keeps its credential_process, which is not stsenv's",
            section.header
        ));
    }
    if let Some(k) = held.filter(|_| deleted) {
        said.push_str(&format!(
            "; the key stays active in IAM until you delete it (`aws iam delete-access-key --access-key-id {}`)",
            k.access_key_id
        ));
    }
    say(&said);
    Ok(done())
}

// rotate

/// How long rotate waits for IAM to accept a new key everywhere (IAM is eventually
/// consistent: usually seconds, now and then ten or more), and how often it tries meanwhile.
/// The test hook STSENV_ROTATE_WAIT_MS (read once) shortens the wait.
fn propagation() -> (Duration, Duration) {
    static WAIT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    let wait = *WAIT.get_or_init(|| {
        std::env::var("STSENV_ROTATE_WAIT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(30), Duration::from_millis)
    });
    (wait, (wait / 15).max(Duration::from_millis(10)))
}

/// aws-vault's rotate, with the new key checked before the old one goes: CreateAccessKey
/// with the current key; the new key stored (read back, compared); GetCallerIdentity with
/// it, retried while IAM propagates; DeleteAccessKey of the old key, signed with the new.
/// Whatever fails, the keyring is left with a key that works, and the message says which.
fn rotate(ctx: &Context, profile: &str) -> Result<Output, Error> {
    crate::credentials_file::check_profile_name(profile)?;
    let old = keystore::load(profile)?.ok_or_else(|| no_keys(profile))?;
    let profiles = ctx.profiles()?;
    let region = engine::region(None, profiles, Some(profile), ctx.env())
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    let net = ctx.net(default_timeout(), Some(profile))?;
    let rt = net::runtime()?;
    let (iam, sts) = rt.block_on(async {
        (
            Iam::new(&net, &region, Some(profile)).await,
            Sts::new(&net, &region, None, Some(profile)).await.once(),
        )
    });
    let (old_id, old_creds) = (old.access_key_id.clone(), old.credentials());

    // 1. A new key, made with the current one.
    verbose::say(|| format!("CreateAccessKey with {old_id} at {}", iam.endpoint()));
    let new = rt
        .block_on(iam.create_access_key(&old_creds))
        .map_err(|e| {
            Error::Iam(format!(
                "could not create a new access key with {old_id} of profile {profile}: {e}; nothing was changed"
            ))
        })?;
    let new_id = new.access_key_id.clone();
    // Undoes step 1: the new key is deleted again, with the old one, which still works.
    let undo_create = || {
        match rt.block_on(iam.delete_access_key(&old_creds, &new_id)) {
        Ok(()) => format!("the new key {new_id} was deleted again"),
        Err(e) => format!(
            "the new key {new_id} could not be deleted again ({e}): delete it with `aws iam delete-access-key --access-key-id {new_id}`"
        ),
    }
    };
    // Both keys stay active when it is not known which one the keyring holds: deleting the
    // new one could leave the keyring with a dead key.
    let both_kept = |why: &KeyringError| {
        format!(
            "the OS keyring can't say which key it holds now ({why}), so both stay active: once it answers, `stsenv keys list` shows which; delete the other with `aws iam delete-access-key --access-key-id …` (the old key is {old_id}, the new one {new_id})"
        )
    };

    // 2. Stored, read back and compared.
    verbose::say(|| format!("created {new_id}; storing it in the OS keyring"));
    // The error, and whether it came from the write itself (rather than the read-back).
    let stored = match keystore::store(profile, &new) {
        Err(e) => Err((e, true)),
        Ok(()) => match keystore::load(profile) {
            Ok(Some(back)) if back == new => Ok(()),
            Ok(_) => Err((
                KeyringError::Other("it gave back other keys than were just stored".into()),
                false,
            )),
            Err(e) => Err((e, false)),
        },
    };
    if let Err((e, in_write)) = stored {
        // A write refused by a keyring that was not there, or locked, took nothing: the old
        // key is still in it. Otherwise the old key is put back, and checked.
        let old_kept =
            (in_write && e.wrote_nothing()) || keystore::store_verified(profile, &old).is_ok();
        return Err(Error::Keys(match old_kept {
            true => format!(
                "could not store the new key {new_id} of profile {profile} ({e}); the OS keyring still holds the old key {old_id}, which works, and {}",
                undo_create()
            ),
            false => format!(
                "could not store the new key {new_id} of profile {profile}; {}",
                both_kept(&e)
            ),
        }));
    }

    // 3. The new key works, within a bounded while.
    let (wait, every) = propagation();
    let started = Instant::now();
    let label = format!("of the new key {new_id}");
    let checked = rt.block_on(async {
        loop {
            verbose::say(|| format!("GetCallerIdentity with {new_id} at {}", sts.endpoint()));
            match sts.caller_identity(&new.credentials(), &label).await {
                Ok((_, arn, _)) => break Ok(arn),
                Err(e) if started.elapsed() + every >= wait => break Err(e),
                Err(_) => tokio::time::sleep(every).await,
            }
        }
    });
    let arn = match checked {
        Ok(arn) => arn,
        Err(e) => {
            let failed = format!(
                "the new key {new_id} of profile {profile} did not work within {} ({e})",
                shown(wait)
            );
            return Err(Error::Keys(match keystore::store_verified(profile, &old) {
                Ok(()) => format!(
                    "{failed}; the OS keyring holds the old key {old_id} again, which works, and {}",
                    undo_create()
                ),
                Err(k) => format!(
                    "{failed}; the OS keyring keeps it, as the old key {old_id} could not be put back ({k}): both keys stay active; try `stsenv keys rotate {profile}` again later, or store the old key again with `stsenv keys add {profile}`"
                ),
            }));
        }
    };

    // 4. The old key goes, deleted with the new one (which so proves it works for IAM too).
    let new_creds = new.credentials();
    let deleted = rt.block_on(async {
        loop {
            verbose::say(|| format!("DeleteAccessKey {old_id} with {new_id}"));
            match iam.delete_access_key(&new_creds, &old_id).await {
                Ok(()) => break Ok(()),
                // Already gone is as good as deleted.
                Err(e) if e.code == "NoSuchEntity" => break Ok(()),
                Err(e) if !e.transient || started.elapsed() + every >= wait => break Err(e),
                Err(_) => tokio::time::sleep(every).await,
            }
        }
    });
    if let Err(e) = deleted {
        return Err(Error::Iam(format!(
            "the OS keyring holds the new key {new_id} of profile {profile}, which works, but the old key {old_id} could not be deleted ({e}): it is still active; delete it with `aws iam delete-access-key --access-key-id {old_id}`"
        )));
    }
    forget_mfa_sessions(ctx, profile);
    say(&format!(
        "rotated the access key of profile {profile}: the OS keyring holds {new_id} ({arn}), and {old_id} is deleted"
    ));
    Ok(done())
}

fn shown(d: Duration) -> String {
    match d.subsec_millis() {
        0 => format!("{} s", d.as_secs()),
        _ => format!("{} ms", d.as_millis()),
    }
}

/// The MFA sessions cached for the profile were made with the old key; they go with it.
fn forget_mfa_sessions(ctx: &Context, profile: &str) {
    let Ok(cache) = crate::cache::Cache::open(crate::cache::Mode::Use, ctx.env()) else {
        return;
    };
    for e in cache.entries() {
        if matches!(&e.what, crate::cache::What::Mfa { source, .. } if source == profile) {
            cache.remove_entry(&e);
        }
    }
}
