//! Long-term AWS keys in the OS keyring (the Secret Service, the macOS Keychain, the Windows
//! Credential Manager): one item per profile, service `stsenv`, the profile as the account,
//! the secret a small JSON object; and the `credential_process` line that hands an item to
//! every AWS tool. Knows nothing of the AWS files or of the engine.
//!
//! Every keyring call runs on a thread of its own and is waited for a bounded time: a
//! Secret Service may show an unlock prompt nobody can see, and its client waits for the
//! answer without limit. keyring-core's own error is never formatted with `{:?}`: two of its
//! variants carry the secret's raw bytes.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use keyring_core::{Entry, Error as KrError};

use crate::env::Env;
use crate::session::Credentials;

/// The service name of every item stsenv writes.
pub const SERVICE: &str = "stsenv";

/// The longest wait for one keyring call: time enough for a person at the desktop to type
/// the keyring's password into its prompt. The test hook STSENV_KEYRING_TIMEOUT_MS (read
/// once) shortens it.
fn call_limit() -> Duration {
    static LIMIT: OnceLock<Duration> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("STSENV_KEYRING_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(60), Duration::from_millis)
    })
}

/// An IAM user's long-term access key. Debug never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

impl Keys {
    /// The item's secret, as text (KDE Wallet's Secret Service keeps only text).
    fn to_secret(&self) -> String {
        serde_json::json!({
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
        })
        .to_string()
    }

    fn from_secret(bytes: &[u8]) -> Option<Keys> {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let field = |k: &str| {
            v.get(k)?
                .as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        Some(Keys {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
        })
    }

    /// What `credential_process` prints: Version 1, the two keys, no Expiration (they are
    /// long-term).
    pub fn process_json(&self) -> String {
        serde_json::json!({
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
        })
        .to_string()
    }

    pub fn credentials(&self) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: None,
            expires: None,
        }
    }
}

/// What went wrong with the keyring, each as one sentence saying what is missing and what
/// to do. No variant holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// No session bus: DBUS_SESSION_BUS_ADDRESS unset and no $XDG_RUNTIME_DIR/bus.
    NoBus,
    /// A bus address that nothing answers at (a session that has ended).
    BusUnreachable(String),
    /// A session bus on which nothing provides org.freedesktop.secrets.
    NoSecretService,
    /// A Secret Service without a default collection to put items in.
    NoDefaultCollection,
    /// The collection is locked, and its unlock prompt was dismissed or can't be shown.
    Locked,
    /// A call that did not come back in time: most likely an unlock prompt nobody answers.
    TimedOut(Duration),
    /// The profile's item is not one stsenv wrote.
    Malformed(String),
    /// Several items for one profile.
    Ambiguous(String, usize),
    /// Anything else, in the platform's words (never a secret).
    Other(String),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::NoBus => f.write_str(
                "no OS keyring: there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set); log in to a desktop session, or start one with `dbus-run-session` and a Secret Service (gnome-keyring, or KeePassXC's Secret Service integration) in it",
            ),
            KeyringError::BusUnreachable(why) => write!(
                f,
                "no OS keyring: the D-Bus session bus can't be reached ({why}); check DBUS_SESSION_BUS_ADDRESS, or log in again to get a session with a Secret Service"
            ),
            KeyringError::NoSecretService => f.write_str(
                "no OS keyring: nothing provides the Secret Service (org.freedesktop.secrets) on the session bus; install and start gnome-keyring (`gnome-keyring-daemon --start --components=secrets`) or enable KeePassXC's Secret Service integration",
            ),
            KeyringError::NoDefaultCollection => f.write_str(
                "the OS keyring has no default collection to keep keys in; create one and make it the default (Seahorse: File > New > Password Keyring, then Set as default), or start gnome-keyring with a password (`gnome-keyring-daemon --unlock`)",
            ),
            KeyringError::Locked => f.write_str(
                "the OS keyring is locked and was not unlocked; unlock it (log in to the desktop, answer its unlock prompt, or `gnome-keyring-daemon --unlock`) and try again",
            ),
            KeyringError::TimedOut(limit) => write!(
                f,
                "the OS keyring did not answer within {}, most likely waiting on an unlock prompt nobody answers; unlock the keyring first and try again",
                shown(*limit)
            ),
            KeyringError::Malformed(p) => write!(
                f,
                "the keyring item of profile {p} (service {SERVICE}) is not one stsenv wrote; remove it (`stsenv keys remove {p}`) and add the keys again"
            ),
            KeyringError::Ambiguous(p, n) => write!(
                f,
                "{n} keyring items are for profile {p} (service {SERVICE}); delete them (`secret-tool clear service {SERVICE} username {p}` on Linux) and add the keys again"
            ),
            KeyringError::Other(why) => write!(f, "the OS keyring failed: {why}"),
        }
    }
}

impl std::error::Error for KeyringError {}

impl From<KeyringError> for crate::error::Error {
    fn from(e: KeyringError) -> Self {
        crate::error::Error::Keyring(e.to_string())
    }
}

impl KeyringError {
    /// Whether a write that failed so can't have changed anything: the keyring was not
    /// there, or locked.
    pub fn wrote_nothing(&self) -> bool {
        matches!(
            self,
            KeyringError::NoBus
                | KeyringError::BusUnreachable(_)
                | KeyringError::NoSecretService
                | KeyringError::NoDefaultCollection
                | KeyringError::Locked
        )
    }
}

fn shown(d: Duration) -> String {
    match d.subsec_millis() {
        0 => format!("{} s", d.as_secs()),
        _ => format!("{} ms", d.as_millis()),
    }
}

// The store, set up once per process, on the first call.

/// Whether this target's store is the Secret Service.
macro_rules! secret_service {
    ($($item:item)*) => {
        $(
            #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
            $item
        )*
    };
}

static STORE: OnceLock<Result<(), KeyringError>> = OnceLock::new();

fn init() -> Result<(), KeyringError> {
    STORE
        .get_or_init(|| {
            #[cfg(all(
                unix,
                not(any(target_os = "macos", target_os = "ios", target_os = "android"))
            ))]
            if !session_bus_configured() {
                return Err(KeyringError::NoBus);
            }
            keyring_core::set_default_store(new_store()?);
            Ok(())
        })
        .clone()
}

secret_service! {
    /// Where zbus looks for the session bus: DBUS_SESSION_BUS_ADDRESS, else
    /// $XDG_RUNTIME_DIR/bus. Without either, saying so plainly beats zbus's words.
    fn session_bus_configured() -> bool {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
            return true;
        }
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/run/user/{uid}")))
            .join("bus")
            .exists()
    }

    fn new_store() -> Result<std::sync::Arc<keyring_core::CredentialStore>, KeyringError> {
        // Connects to the bus and opens an encrypted session with the Secret Service.
        let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| classify(e, ""))?;
        Ok(store)
    }

    fn platform(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> KeyringError {
        use secret_service::Error as Ss;
        let Some(ss) = inner.downcast_ref::<Ss>() else {
            return KeyringError::Other(crate::error::chain(inner));
        };
        match ss {
            Ss::Unavailable => KeyringError::NoBus,
            // ReadAlias("default") answered "/": there is no default collection.
            Ss::NoResult => KeyringError::NoDefaultCollection,
            Ss::Locked | Ss::Prompt | Ss::PromptDisconnected => KeyringError::Locked,
            Ss::Zbus(z) if service_unknown(z) => KeyringError::NoSecretService,
            Ss::ZbusFdo(zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)) => {
                KeyringError::NoSecretService
            }
            Ss::Zbus(zbus::Error::Connection(io, _) | zbus::Error::InputOutput(io)) => {
                KeyringError::BusUnreachable(io.to_string())
            }
            Ss::Zbus(zbus::Error::Address(a)) => KeyringError::BusUnreachable(a.clone()),
            Ss::Zbus(zbus::Error::Handshake(h)) => KeyringError::BusUnreachable(h.clone()),
            other => KeyringError::Other(crate::error::chain(other)),
        }
    }

    fn service_unknown(z: &zbus::Error) -> bool {
        match z {
            zbus::Error::MethodError(name, _, _) => matches!(
                name.as_str(),
                "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner"
            ),
            zbus::Error::FDO(f) => matches!(
                **f,
                zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
            ),
            _ => false,
        }
    }

    /// The label the Secret Service shows (Seahorse, `secret-tool search`). Only this store
    /// takes the modifier: the others refuse modifiers they don't know.
    fn modifiers(label: &str) -> HashMap<&str, &str> {
        HashMap::from([("label", label)])
    }
}

#[cfg(target_os = "macos")]
fn new_store() -> Result<std::sync::Arc<keyring_core::CredentialStore>, KeyringError> {
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| classify(e, ""))?;
    Ok(store)
}

#[cfg(windows)]
fn new_store() -> Result<std::sync::Arc<keyring_core::CredentialStore>, KeyringError> {
    let store = windows_native_keyring_store::Store::new().map_err(|e| classify(e, ""))?;
    Ok(store)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn platform(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> KeyringError {
    // The Keychain's OSStatus and Credential Manager's Win32 error say it in their words.
    KeyringError::Other(crate::error::chain(inner))
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn modifiers(_label: &str) -> HashMap<&'static str, &'static str> {
    HashMap::new()
}

/// keyring-core's error as ours, from its variant and the platform error inside: never
/// from the bytes `BadEncoding` and `BadDataFormat` carry.
fn classify(e: KrError, profile: &str) -> KeyringError {
    match e {
        KrError::NoStorageAccess(inner) | KrError::PlatformFailure(inner) => platform(&*inner),
        KrError::BadEncoding(_) | KrError::BadDataFormat(_, _) => {
            KeyringError::Malformed(profile.to_string())
        }
        KrError::Ambiguous(items) => KeyringError::Ambiguous(profile.to_string(), items.len()),
        KrError::NoEntry => KeyringError::Other(format!("profile {profile} has no item")),
        KrError::NoDefaultStore => KeyringError::Other("no credential store was set up".into()),
        KrError::TooLong(what, max) => {
            KeyringError::Other(format!("{what} is longer than the store allows ({max})"))
        }
        KrError::Invalid(what, why) => KeyringError::Other(format!("{what} is invalid: {why}")),
        KrError::BadStoreFormat(why) => {
            KeyringError::Other(format!("the store's data is malformed: {why}"))
        }
        KrError::NotSupportedByStore(why) => KeyringError::Other(why),
        _ => KeyringError::Other("an error keyring-core has no words for".into()),
    }
}

/// Runs one keyring call on a thread of its own and waits for it at most `call_limit()`.
/// On timeout the thread is left behind: the process is about to say so and exit.
fn bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| KeyringError::Other(format!("cannot start a thread: {e}")))?;
    let limit = call_limit();
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::TimedOut(limit)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Other(
            "the keyring call ended without an answer".into(),
        )),
    }
}

fn entry(profile: &str) -> Result<Entry, KeyringError> {
    init()?;
    let label = format!("stsenv: AWS access key of profile {profile}");
    let mods = modifiers(&label);
    Entry::new_with_modifiers(SERVICE, profile, &mods).map_err(|e| classify(e, profile))
}

/// Writes (creates or replaces) the item of `profile`.
pub fn store(profile: &str, keys: &Keys) -> Result<(), KeyringError> {
    let profile = profile.to_string();
    let secret = keys.to_secret();
    bounded(move || {
        entry(&profile)?
            .set_password(&secret)
            .map_err(|e| classify(e, &profile))
    })
}

/// The keys of `profile`; None when it has no item.
pub fn load(profile: &str) -> Result<Option<Keys>, KeyringError> {
    let profile = profile.to_string();
    bounded(move || match entry(&profile)?.get_secret() {
        Ok(bytes) => Keys::from_secret(&bytes)
            .map(Some)
            .ok_or_else(|| KeyringError::Malformed(profile.clone())),
        Err(KrError::NoEntry) => Ok(None),
        Err(e) => Err(classify(e, &profile)),
    })
}

/// Writes, reads back and compares: what must hold before anything else changes.
pub fn store_verified(profile: &str, keys: &Keys) -> Result<(), KeyringError> {
    store(profile, keys)?;
    match load(profile)? {
        Some(back) if &back == keys => Ok(()),
        Some(_) => Err(KeyringError::Other(format!(
            "it gave back other keys for profile {profile} than were just stored"
        ))),
        None => Err(KeyringError::Other(format!(
            "it kept no item for profile {profile}, though it took one"
        ))),
    }
}

/// Deletes the item of `profile`; false when there was none.
pub fn delete(profile: &str) -> Result<bool, KeyringError> {
    let profile = profile.to_string();
    bounded(move || match entry(&profile)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(KrError::NoEntry) => Ok(false),
        Err(e) => Err(classify(e, &profile)),
    })
}

/// The profiles that have an item, found by searching the store; None where the store
/// can't search (Windows without keyring's regex-based search).
pub fn profiles() -> Result<Option<Vec<String>>, KeyringError> {
    if cfg!(windows) {
        return Ok(None);
    }
    bounded(|| {
        init()?;
        let spec = HashMap::from([("service", SERVICE)]);
        let found = Entry::search(&spec).map_err(|e| classify(e, ""))?;
        let mut names: Vec<String> = found
            .iter()
            .filter_map(Entry::get_specifiers)
            .filter(|(service, _)| service == SERVICE)
            .map(|(_, profile)| profile)
            .collect();
        names.sort();
        names.dedup();
        Ok(Some(names))
    })
}

// The credential_process line.

/// The `credential_process` value that hands `profile`'s keys to every AWS tool:
/// `stsenv keys export PROFILE` when `stsenv` on PATH is this very binary, else this
/// binary's full path, so that the line never runs another stsenv, or none.
pub fn export_command(env: &Env, profile: &str) -> Result<String, crate::error::Error> {
    let own = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| crate::error::Error::OwnPath(e.to_string()))?;
    let on_path = env.get("PATH").and_then(|p| find_on_path(p, &own));
    let program = match on_path {
        Some(()) => "stsenv".to_string(),
        None => quote_program(&own),
    };
    Ok(format!("{program} keys export {profile}"))
}

/// Some(()) when the first `stsenv` on `path` is `own`.
fn find_on_path(path: &str, own: &Path) -> Option<()> {
    let names: &[&str] = if cfg!(windows) {
        &["stsenv.exe", "stsenv"]
    } else {
        &["stsenv"]
    };
    let first = std::env::split_paths(path)
        .filter(|d| d.is_absolute())
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())?;
    (std::fs::canonicalize(first).ok()? == own).then_some(())
}

fn quote_program(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./:=@,+-\\".contains(c));
    match (plain, cfg!(windows)) {
        (true, _) => text,
        (false, true) => format!("\"{text}\""),
        (false, false) => crate::shell::quote_posix_word(&text),
    }
}

/// The profile whose keys `command` exports when it is stsenv's own `keys export NAME`
/// (as `export_command` writes it, or any path to a binary named stsenv): then stsenv
/// reads the keyring itself instead of starting again. None for any other command.
pub fn own_export(command: &str) -> Option<String> {
    let words = split_command(command)?;
    let [program, keys, export, profile] = words.as_slice() else {
        return None;
    };
    let name = Path::new(program).file_name()?.to_str()?;
    let ours = if cfg!(windows) {
        name.eq_ignore_ascii_case("stsenv") || name.eq_ignore_ascii_case("stsenv.exe")
    } else {
        name == "stsenv"
    };
    (ours && keys == "keys" && export == "export" && is_profile_name(profile))
        .then(|| profile.clone())
}

#[cfg(not(windows))]
fn split_command(command: &str) -> Option<Vec<String>> {
    crate::shell::split_posix_words(command)
}

/// On Windows the AWS tools run the line through cmd: words, and "quoted" words.
#[cfg(windows)]
fn split_command(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in command.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return None;
    }
    if any {
        words.push(word);
    }
    Some(words)
}

/// The profile names `stsenv keys` takes: what stands in a credential_process line and a
/// keyring account without quoting (`credentials_file::check_profile_name`'s grammar).
pub fn is_profile_name(name: &str) -> bool {
    crate::credentials_file::check_profile_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_holds_both_keys_and_export_adds_the_version() {
        let k = Keys {
            access_key_id: "AKIAEXAMPLE000000001".into(),
            secret_access_key: "s/ecret+".into(),
        };
        let secret = k.to_secret();
        assert_eq!(Keys::from_secret(secret.as_bytes()), Some(k.clone()));
        let out: serde_json::Value = serde_json::from_str(&k.process_json()).unwrap();
        assert_eq!(out["Version"], 1);
        assert_eq!(out["SecretAccessKey"], "s/ecret+");
        assert!(out.get("Expiration").is_none());
        assert!(!format!("{k:?}").contains("s/ecret"));
        for other in [
            &b"not json"[..],
            br#"{"AccessKeyId":"A"}"#,
            br#"{"AccessKeyId":"A","SecretAccessKey":""}"#,
        ] {
            assert_eq!(Keys::from_secret(other), None);
        }
    }

    #[test]
    fn only_stsenvs_own_export_is_recognised() {
        for ours in [
            "stsenv keys export dev",
            "/usr/local/bin/stsenv keys export dev",
            "'/opt/my tools/stsenv' keys export dev",
            "  stsenv   keys export dev ",
        ] {
            assert_eq!(own_export(ours).as_deref(), Some("dev"), "{ours}");
        }
        for other in [
            "stsenv assume dev --shell json",
            "stsenv keys export dev --verbose",
            "stsenv keys export dev; rm -rf ~",
            "stsenv keys export 'a b'",
            "aws-vault exec dev --json",
            "/usr/bin/stsenv-old keys export dev",
            "stsenv keys export",
            "'stsenv keys export dev",
        ] {
            assert_eq!(own_export(other), None, "{other}");
        }
    }
}
