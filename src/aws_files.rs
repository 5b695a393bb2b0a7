//! The AWS config and credentials files: where they are, loading them with aws-config's
//! parser, and what kind of profile each section is. Knows nothing of roles being assumed.

use std::future::Future;
use std::path::{Path, PathBuf};

use aws_config::profile::{Profile, ProfileSet};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_runtime::env_config::property::PropertiesKey;
use aws_types::os_shim_internal::{Env as ShimEnv, Fs};

use crate::env::Env;
use crate::error::{chain, Error};

pub const CONFIG_VAR: &str = "AWS_CONFIG_FILE";
pub const CREDENTIALS_VAR: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// The most stsenv reads of a config or credentials file (a 7,000-profile config is about
/// 200 KB); more is refused rather than read without bound.
const MAX_FILE_BYTES: u64 = 32 << 20;

/// Every profile of both files, as the AWS CLI and SDKs see them.
pub fn load_profiles(env: &Env) -> Result<ProfileSet, Error> {
    // stsenv looks at each file first, so that a FIFO can't hang the run, /dev/zero can't
    // fill memory, and an unreadable or non-UTF-8 file is named (aws-config passes over a
    // file it can't read as if it were missing).
    let mut files = EnvConfigFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false)
        // aws-config wants at least one source; no file at all reads as no profiles.
        .with_contents(EnvConfigFileKind::Config, "");
    for (kind, var, default) in [
        (EnvConfigFileKind::Config, CONFIG_VAR, ".aws/config"),
        (
            EnvConfigFileKind::Credentials,
            CREDENTIALS_VAR,
            ".aws/credentials",
        ),
    ] {
        if let Some(path) = config_path(env, var, default) {
            files = match read_config_file(&path)? {
                // aws-config reads an empty /dev/null as a missing file, as it should.
                Some(text) if text.is_empty() => files,
                Some(_) => files.with_file(kind, path),
                None => files,
            };
        }
    }
    // The files are named above: aws-config's own look at the environment only picks the
    // selected profile, which stsenv never asks it for.
    let (fs, shim) = (Fs::real(), ShimEnv::real());
    block_on(aws_config::profile::load(&fs, &shim, &files.build(), None))
        .map_err(|e| Error::Config(chain(&e)))
}

/// Profiles parsed from the text of a config file, as aws-config parses them.
pub fn profiles_from_text(text: &str) -> Result<ProfileSet, Error> {
    let files = EnvConfigFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false)
        .with_contents(EnvConfigFileKind::Config, text)
        .build();
    block_on(aws_config::profile::load(
        &Fs::from_slice(&[]),
        &ShimEnv::from_slice(&[]),
        &files,
        None,
    ))
    .map_err(|e| Error::Config(chain(&e)))
}

/// The path aws-config reads for `var`, with `~/` expanded as it does (its own helper is
/// private). None when there is none: no HOME, or the variable set but empty, which makes
/// the AWS CLI and aws-config read no file at all.
pub fn config_path(env: &Env, var: &str, default: &str) -> Option<PathBuf> {
    if env.is_set_empty(var) {
        return None;
    }
    match env.get(var) {
        Some(p) => {
            let p = PathBuf::from(p);
            match (p.strip_prefix("~"), env.home()) {
                (Ok(rest), Some(h)) => Some(h.join(rest)),
                _ => Some(p),
            }
        }
        None => Some(env.home()?.join(default)),
    }
}

/// `path` with a leading `~/` made the home folder, as the SDKs read paths in profiles.
pub fn expand_home(env: &Env, path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), env.home()) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Where the AWS CLI reads credentials: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials.
pub fn credentials_path(env: &Env) -> Result<PathBuf, Error> {
    match config_path(env, CREDENTIALS_VAR, ".aws/credentials") {
        Some(p) => Ok(p),
        None if env.is_set_empty(CREDENTIALS_VAR) => Err(Error::Config(format!(
            "{CREDENTIALS_VAR} is set but empty, so there is no credentials file to write: unset it or name a file"
        ))),
        None => Err(Error::NoHome(CREDENTIALS_VAR)),
    }
}

/// Where the AWS CLI reads its config: AWS_CONFIG_FILE, else ~/.aws/config.
pub fn config_file_path(env: &Env) -> Result<PathBuf, Error> {
    match config_path(env, CONFIG_VAR, ".aws/config") {
        Some(p) => Ok(p),
        None if env.is_set_empty(CONFIG_VAR) => Err(Error::Config(format!(
            "{CONFIG_VAR} is set but empty, so there is no config file to write: unset it or name a file"
        ))),
        None => Err(Error::NoHome(CONFIG_VAR)),
    }
}

/// A config file's text; None when it doesn't exist.
fn read_config_file(path: &Path) -> Result<Option<String>, Error> {
    crate::fsutil::read_text(path, MAX_FILE_BYTES).map_err(|why| {
        Error::File(format!(
            "cannot read the AWS config file {} ({why}); check that it is a UTF-8 text file you can read",
            path.display()
        ))
    })
}

/// Runs a future that does no real waiting (aws-config reads profile files synchronously
/// behind an async API) without starting a runtime; falls back to one if it ever does wait.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
            .block_on(fut),
    }
}

/// How messages name the config files: the paths the AWS CLI would read.
pub fn config_files(env: &Env) -> String {
    let path = |var: &str, default: &str| match env.get(var) {
        _ if env.is_set_empty(var) => format!("no file ({var} is set but empty)"),
        Some(v) => v.to_string(),
        None => default.to_string(),
    };
    format!(
        "{} or {}",
        path(CONFIG_VAR, "~/.aws/config"),
        path(CREDENTIALS_VAR, "~/.aws/credentials")
    )
}

/// What a profile is, by the keys it holds, in the order aws-config reads them: "web
/// identity", "role", "sso", "login", "process", "static", or "settings" (no credentials of
/// its own).
pub fn kind(p: &Profile) -> &'static str {
    kind_by(|k| p.get(k).is_some_and(|v| !v.is_empty()))
}

/// `kind`, from whether a profile has a key with a value.
pub fn kind_by(has: impl Fn(&str) -> bool) -> &'static str {
    if has("web_identity_token_file") {
        "web identity"
    } else if has("role_arn") {
        "role"
    } else if has("sso_session") || has("sso_start_url") || has("sso_account_id") {
        "sso"
    } else if has("login_session") {
        "login"
    } else if has("credential_process") {
        "process"
    } else if has("aws_access_key_id") || has("aws_secret_access_key") {
        "static"
    } else {
        "settings"
    }
}

/// The keys a `Listing` keeps: what tells a profile's kind, account and role.
const LISTED_KEYS: [&str; 10] = [
    "web_identity_token_file",
    "role_arn",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "sso_role_name",
    "login_session",
    "credential_process",
    "aws_access_key_id",
    "aws_secret_access_key",
];

/// Where a name or value is in the files' texts: (file, start, length).
type Span = (u8, u32, u32);

/// Every profile of the config and credentials files in the order they come (the config
/// file's first), each once, with those of its keys that tell its kind, account and role:
/// from stsenv's own one-pass scan of the lines, for listing only (the picker), where
/// aws-config's exact parser takes seconds on 100,000 profiles. What a profile means is still
/// aws-config's, once one is picked. Nothing is copied out of the files' texts.
#[derive(Debug, Default)]
pub struct Listing {
    texts: Vec<String>,
    profiles: Vec<Listed>,
}

#[derive(Debug, Clone)]
struct Listed {
    name: Span,
    /// By LISTED_KEYS' order; the last value given wins, as in aws-config (the credentials
    /// file's over the config file's).
    values: [Option<Span>; LISTED_KEYS.len()],
}

/// FNV-1a: names from one's own files need no defence against chosen collisions, and std's
/// SipHash is what took the most time on 100,000 of them.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl Listing {
    pub fn read(env: &Env) -> Result<Listing, Error> {
        let mut texts = Vec::new();
        let mut config = Vec::new();
        for (var, default, is_config) in [
            (CONFIG_VAR, ".aws/config", true),
            (CREDENTIALS_VAR, ".aws/credentials", false),
        ] {
            let Some(path) = config_path(env, var, default) else {
                continue;
            };
            if let Some(text) = read_config_file(&path)? {
                texts.push(text);
                config.push(is_config);
            }
        }
        let mut profiles: Vec<Listed> = Vec::new();
        let mut at: std::collections::HashMap<&str, usize, std::hash::BuildHasherDefault<Fnv>> =
            Default::default();
        for (file, text) in texts.iter().enumerate() {
            let base = text.as_ptr() as usize;
            let span = |s: &str| {
                (
                    file as u8,
                    (s.as_ptr() as usize - base) as u32,
                    s.len() as u32,
                )
            };
            let mut current: Option<usize> = None;
            for line in text.lines() {
                let bytes = line.as_bytes();
                let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
                    continue;
                };
                match bytes[first] {
                    b'[' => {
                        // As aws-config names them: `[profile x]` and `[default]` in the
                        // config file, any section in the credentials file.
                        let header = crate::ini::header(line).unwrap_or("");
                        let name = if config[file] {
                            match header.strip_prefix("profile") {
                                Some(rest) if rest.starts_with([' ', '\t']) => rest.trim(),
                                _ if header == "default" => header,
                                _ => "",
                            }
                        } else {
                            header
                        };
                        current = (!name.is_empty()).then(|| {
                            *at.entry(name).or_insert_with(|| {
                                profiles.push(Listed {
                                    name: span(name),
                                    values: [None; LISTED_KEYS.len()],
                                });
                                profiles.len() - 1
                            })
                        });
                    }
                    b'#' | b';' => {}
                    // An indented line continues the value above it.
                    _ if first > 0 => {}
                    _ => {
                        let (Some(i), Some((key, value))) = (current, line.split_once('=')) else {
                            continue;
                        };
                        if let Some(k) = LISTED_KEYS.iter().position(|k| *k == key.trim_end()) {
                            profiles[i].values[k] = Some(span(value.trim()));
                        }
                    }
                }
            }
        }
        Ok(Listing { texts, profiles })
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    fn text(&self, (file, start, len): Span) -> &str {
        &self.texts[file as usize][start as usize..(start + len) as usize]
    }

    pub fn name(&self, i: usize) -> &str {
        self.text(self.profiles[i].name)
    }

    /// Profile `i`'s value of `key` (one of the kept ones), if it has one.
    pub fn get(&self, i: usize, key: &str) -> Option<&str> {
        let k = LISTED_KEYS.iter().position(|k| *k == key)?;
        self.profiles[i].values[k]
            .map(|s| self.text(s))
            .filter(|v| !v.is_empty())
    }

    pub fn kind(&self, i: usize) -> &'static str {
        kind_by(|k| self.get(i, k).is_some())
    }
}

/// The endpoint URL configured for a service, as the SDKs resolve it without a request:
/// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the profile's `services`
/// section, then its `endpoint_url`; none at all with `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
/// (or the profile's `ignore_configured_endpoint_urls`) true. `service` is the service id
/// ("STS"); `profile` the profile whose settings apply (None: AWS_PROFILE's, else default).
pub fn configured_endpoint(
    profiles: &ProfileSet,
    profile: Option<&str>,
    service: &str,
    env: &Env,
) -> Option<String> {
    let set = |k: &str| env.var(k);
    let name = profile
        .map(String::from)
        .or_else(|| set("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let p = profiles.get_profile(&name);
    let get = |k: &str| p.and_then(|p| p.get(k)).filter(|v| !v.is_empty());
    let ignore = match set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        Some(v) => v.eq_ignore_ascii_case("true"),
        None => {
            get("ignore_configured_endpoint_urls").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        }
    };
    if ignore {
        return None;
    }
    let env_key = format!(
        "AWS_ENDPOINT_URL_{}",
        service.to_uppercase().replace(' ', "_")
    );
    let from_services = || {
        let key = PropertiesKey::builder()
            .section_key("services")
            .section_name(get("services")?)
            .property_name(service.to_lowercase().replace(' ', "-"))
            .sub_property_name("endpoint_url")
            .build()
            .ok()?;
        profiles
            .other_sections()
            .get(&key)
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    };
    set(&env_key)
        .or_else(|| set("AWS_ENDPOINT_URL"))
        .or_else(from_services)
        .or_else(|| get("endpoint_url").map(String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_endpoints_in_the_sdks_order() {
        let text = "[default]\nendpoint_url = http://global-profile\nservices = local\n[profile plain]\nendpoint_url = http://plain\n[services local]\nsts =\n  endpoint_url = http://sts-profile\n[profile off]\nendpoint_url = http://x\nignore_configured_endpoint_urls = true\n";
        let set = profiles_from_text(text).unwrap();
        let ep = |p: Option<&str>, vars: &'static [(&'static str, &'static str)]| {
            configured_endpoint(&set, p, "STS", &Env::from_pairs(vars.iter().copied()))
        };
        assert_eq!(ep(None, &[]).as_deref(), Some("http://sts-profile"));
        assert_eq!(ep(Some("plain"), &[]).as_deref(), Some("http://plain"));
        assert_eq!(
            ep(Some("plain"), &[("AWS_ENDPOINT_URL", "http://env")]).as_deref(),
            Some("http://env")
        );
        assert_eq!(
            ep(
                Some("plain"),
                &[
                    ("AWS_ENDPOINT_URL", "http://env"),
                    ("AWS_ENDPOINT_URL_STS", "http://env-sts")
                ]
            )
            .as_deref(),
            Some("http://env-sts")
        );
        assert_eq!(ep(Some("off"), &[("AWS_ENDPOINT_URL", "http://env")]), None);
        assert_eq!(
            ep(
                Some("plain"),
                &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]
            ),
            None
        );
        assert_eq!(ep(Some("nobody"), &[]), None);
    }
}
