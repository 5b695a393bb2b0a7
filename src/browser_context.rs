//! A profile's own browser context, kept between runs: for the Chromium family a user-data
//! folder under `$XDG_DATA_HOME/stsenv/browser/<folder>` (else `~/.local/share/…`), every
//! folder 0700, made, listed and forgotten here; for Firefox a container, named in the URL a
//! container extension takes. Knows nothing of AWS or of which browser runs.

use std::fs;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::Error;
use crate::fsutil;

/// The file in a context folder that holds the exact name it was made for (Chromium leaves
/// files it doesn't know alone), so that listing shows names, not folder names.
pub const NAME_FILE: &str = "stsenv-profile";
/// The longest folder name taken as it is (and the longest slug of one that isn't).
const SLUG_MAX: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The name it was made for (the folder's name when the name file is missing).
    pub name: String,
    pub path: PathBuf,
    /// The process of a browser running on it now, if any.
    pub in_use: Option<u32>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Forgot {
    Removed(PathBuf),
    NotFound,
    /// A browser runs on it: its folder is not pulled from under it.
    InUse(u32),
}

pub struct Contexts {
    root: PathBuf,
}

impl Contexts {
    /// `$XDG_DATA_HOME/stsenv/browser` when XDG_DATA_HOME is an absolute path (the XDG rule:
    /// a relative one is ignored), else `$HOME/.local/share/stsenv/browser`.
    pub fn locate(env: &Env) -> Result<Contexts, Error> {
        let data = crate::frecency::data_dir(env).ok_or(Error::NoHome("XDG_DATA_HOME"))?;
        Ok(Contexts::at(data.join("browser")))
    }

    pub fn at(root: PathBuf) -> Contexts {
        Contexts { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the context of `name` is, whether or not it exists yet.
    pub fn path_for(&self, name: &str) -> PathBuf {
        self.root.join(folder_name(name))
    }

    /// The context folder of `name`, made (0700, and stsenv/ and browser/ above it) when it is
    /// missing, checked when it isn't: a folder of this user's that others can't write in,
    /// holding this name.
    pub fn ensure(&self, name: &str) -> Result<PathBuf, String> {
        let dir = self.path_for(name);
        if let Some(stsenv) = self.root.parent() {
            fsutil::ensure_private_dir(stsenv)?;
        }
        fsutil::ensure_private_dir(&self.root)?;
        fsutil::ensure_private_dir(&dir)?;
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Err(format!("{} is not a folder", dir.display()));
        }
        let name_file = dir.join(NAME_FILE);
        let held = fsutil::read_text(&name_file, 4096)
            .map_err(|e| format!("cannot read {} ({e})", name_file.display()))?;
        match held {
            Some(held) if held == name => {}
            Some(held) => {
                return Err(format!(
                    "{} is the browser context of '{}', not of '{name}': remove it (`stsenv console --forget {}`)",
                    dir.display(),
                    crate::error::escape_controls(&held),
                    folder_name(name),
                ))
            }
            None => fsutil::write_atomic(&dir, NAME_FILE, name)
                .map_err(|e| format!("cannot write {} ({e})", name_file.display()))?,
        }
        Ok(dir)
    }

    /// Every context, by name. None made yet: none.
    pub fn list(&self) -> Result<Vec<Context>, String> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {} ({e})", self.root.display())),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            // Links and files are nothing of ours.
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let name = fsutil::read_text(&path.join(NAME_FILE), 4096)
                .ok()
                .flatten()
                .unwrap_or_else(|| entry.file_name().to_string_lossy().into_owned());
            out.push(Context {
                name,
                in_use: in_use(&path),
                path,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes the context of `name` (found by the name it was made for, else by its folder's
    /// name, as `list` may show it), unless a browser runs on it.
    pub fn forget(&self, name: &str) -> Result<Forgot, String> {
        let all = self.list()?;
        let found = all.iter().find(|c| c.name == name).or_else(|| {
            all.iter()
                .find(|c| c.path.file_name().is_some_and(|n| n == name))
        });
        let Some(ctx) = found else {
            return Ok(Forgot::NotFound);
        };
        if let Some(pid) = ctx.in_use {
            return Ok(Forgot::InUse(pid));
        }
        // A real folder right under root (list skips links); remove_dir_all removes links
        // inside it as links, never what they point to.
        fs::remove_dir_all(&ctx.path)
            .map_err(|e| format!("cannot remove {} ({e})", ctx.path.display()))?;
        Ok(Forgot::Removed(ctx.path.clone()))
    }
}

/// The folder name for a context: the name itself when it is already plain (lower-case ASCII
/// letters, digits, `-`, `_`, `.`, not starting with `.` or `-` nor ending with `.`, at most 48
/// characters, not a Windows device name), else `<slug>-<12 hex digits of a hash of the exact
/// name>`: two names never share a folder, on a file system that ignores case too.
pub fn folder_name(name: &str) -> String {
    let plain_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    let reserved = |s: &str| {
        let stem = s.split('.').next().unwrap_or(s);
        matches!(stem, "con" | "prn" | "aux" | "nul")
            || (stem.len() == 4
                && (stem.starts_with("com") || stem.starts_with("lpt"))
                && stem.as_bytes()[3].is_ascii_digit())
    };
    let plain = !name.is_empty()
        && name.len() <= SLUG_MAX
        && name.chars().all(plain_char)
        && !name.starts_with(['.', '-'])
        && !name.ends_with('.')
        && !reserved(name);
    if plain {
        return name.to_string();
    }
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = if plain_char(c) && c != '.' { c } else { '-' };
        if !(c == '-' && (slug.is_empty() || slug.ends_with('-'))) {
            slug.push(c);
        }
        if slug.len() >= SLUG_MAX {
            break;
        }
    }
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "profile" } else { slug };
    format!("{slug}-{:012x}", fnv1a64(name.as_bytes()) >> 16)
}

/// FNV-1a, 64 bits: the same in every version and on every platform (std's hasher is not).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// The pid of a browser running on a user-data folder now: Chromium keeps a link
/// `SingletonLock -> <hostname>-<pid>` there while it runs (a crash leaves it behind, so the
/// process is checked).
#[cfg(unix)]
pub fn in_use(dir: &Path) -> Option<u32> {
    let target = fs::read_link(dir.join("SingletonLock")).ok()?;
    let (host, pid) = target.to_str()?.rsplit_once('-')?;
    let pid: i32 = pid.parse().ok()?;
    if host != hostname()? || pid <= 0 {
        return None;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(pid as u32)
}

/// Chromium on Windows holds `lockfile` open while it runs, so it can't be removed then.
#[cfg(not(unix))]
pub fn in_use(dir: &Path) -> Option<u32> {
    let f = dir.join("lockfile");
    (f.exists() && fs::remove_file(&f).is_err()).then_some(0)
}

#[cfg(unix)]
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// The container extensions whose URL scheme opens a URL in a named Firefox container (made,
/// with the colour and icon given, when there is none by that name; an existing one keeps its
/// own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// Granted's (`ext+granted-containers:`), as granted opens the console.
    Granted,
    /// "Open external links in a container" (`ext+container:`), as aws-sso-cli does.
    OpenUrlInContainer,
}

impl Extension {
    pub fn scheme(self) -> &'static str {
        match self {
            Extension::Granted => "ext+granted-containers:",
            Extension::OpenUrlInContainer => "ext+container:",
        }
    }
}

/// The colours both extensions take (Firefox's container colours, less "toolbar").
pub const COLORS: [&str; 8] = [
    "blue",
    "turquoise",
    "green",
    "yellow",
    "orange",
    "red",
    "pink",
    "purple",
];

/// A container's colour: the same for the same name in every version. FNV-1a through
/// MurmurHash3's finaliser: FNV's low bits alone put prod, dev and sandbox on one colour.
pub fn container_color(name: &str) -> &'static str {
    let mut h = fnv1a64(name.as_bytes());
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    COLORS[(h % COLORS.len() as u64) as usize]
}

/// `<scheme>name=<name>&url=<url>&color=<colour>&icon=fingerprint`, every value
/// percent-encoded (both extensions read it with URLSearchParams; granted itself leaves the
/// name raw, which breaks on `&`, `#`, `%` or `+`).
pub fn container_url(ext: Extension, name: &str, url: &str) -> String {
    format!(
        "{}name={}&url={}&color={}&icon=fingerprint",
        ext.scheme(),
        encode(name),
        encode(url),
        container_color(name)
    )
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_root_is_under_xdg_data_home_else_home() {
        let at = |pairs: &[(&str, &str)]| {
            Contexts::locate(&Env::from_pairs(pairs.iter().copied())).map(|c| c.root)
        };
        assert_eq!(
            at(&[("XDG_DATA_HOME", "/d"), ("HOME", "/h")]).unwrap(),
            Path::new("/d/stsenv/browser")
        );
        // A relative XDG_DATA_HOME is ignored, as the XDG spec says.
        assert_eq!(
            at(&[("XDG_DATA_HOME", "d"), ("HOME", "/h")]).unwrap(),
            Path::new("/h/.local/share/stsenv/browser")
        );
        assert!(at(&[]).is_err());
    }

    #[test]
    fn plain_names_are_their_own_folder_and_others_get_a_slug_and_a_hash() {
        for plain in ["prod", "prod-admin", "dev_1", "a.b", "123456789012"] {
            assert_eq!(folder_name(plain), plain);
        }
        let mut seen = std::collections::HashSet::new();
        for name in [
            "Prod",
            "prod/admin",
            "prod admin",
            "..",
            ".hidden",
            "-x",
            "con",
            "COM1",
            "lpt9.txt",
            "",
            "日本",
            "a.",
        ] {
            let f = folder_name(name);
            assert!(
                f.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c)),
                "{name:?} -> {f:?}"
            );
            assert!(!f.starts_with('-') && f.len() <= SLUG_MAX + 13, "{f}");
            assert!(seen.insert(f.clone()), "{name:?} collides: {f}");
        }
        assert!(folder_name("prod/admin").starts_with("prod-admin-"));
        assert!(folder_name("").starts_with("profile-"));
        // Case-insensitive file systems: Prod and prod never share a folder.
        assert_ne!(folder_name("Prod").to_lowercase(), "prod");
        // Stable: the same name, the same folder, in every version.
        assert_eq!(folder_name("Prod Admin"), "prod-admin-665e72865235");
        assert!(folder_name(&"x".repeat(200)).len() <= SLUG_MAX + 13);
    }

    #[test]
    #[cfg(unix)]
    fn ensure_makes_private_folders_once_and_keeps_what_is_in_them() {
        let t = tempfile::tempdir().unwrap();
        let c = Contexts::at(t.path().join("share/stsenv/browser"));
        let a = c.ensure("prod").unwrap();
        assert_eq!(a, t.path().join("share/stsenv/browser/prod"));
        for d in [t.path().join("share/stsenv"), c.root.clone(), a.clone()] {
            let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        let name = a.join(NAME_FILE);
        assert_eq!(fs::read_to_string(&name).unwrap(), "prod");
        assert_eq!(
            fs::metadata(&name).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(a.join("Cookies"), "x").unwrap();
        assert_eq!(c.ensure("prod").unwrap(), a);
        assert!(a.join("Cookies").exists());
    }

    #[test]
    #[cfg(unix)]
    fn a_link_or_a_folder_of_another_name_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let c = Contexts::at(t.path().join("browser"));
        c.ensure("dev").unwrap();
        let elsewhere = t.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, c.root.join("prod")).unwrap();
        let e = c.ensure("prod").unwrap_err();
        assert!(e.contains("not a folder"), "{e}");
        fs::write(c.path_for("dev").join(NAME_FILE), "Dev").unwrap();
        let e = c.ensure("dev").unwrap_err();
        assert!(
            e.contains("the browser context of 'Dev', not of 'dev'"),
            "{e}"
        );
    }

    #[test]
    #[cfg(unix)]
    fn list_shows_names_and_forget_removes_one_unless_a_browser_runs_on_it() {
        let t = tempfile::tempdir().unwrap();
        let c = Contexts::at(t.path().join("browser"));
        assert_eq!(c.list().unwrap(), vec![], "no folder yet: no contexts");
        let prod = c.ensure("Prod Admin").unwrap();
        let dev = c.ensure("dev").unwrap();
        fs::create_dir_all(prod.join("Default")).unwrap();
        fs::write(prod.join("Default/Cookies"), "x").unwrap();
        fs::write(c.root.join("stray-file"), "").unwrap();
        let names: Vec<String> = c.list().unwrap().into_iter().map(|x| x.name).collect();
        assert_eq!(names, ["Prod Admin", "dev"]);

        let me = std::process::id();
        let lock = dev.join("SingletonLock");
        std::os::unix::fs::symlink(format!("{}-{me}", hostname().unwrap()), &lock).unwrap();
        assert_eq!(c.list().unwrap()[1].in_use, Some(me));
        assert_eq!(c.forget("dev").unwrap(), Forgot::InUse(me));
        // A lock a crash left (no such process, or another machine's) doesn't count.
        fs::remove_file(&lock).unwrap();
        std::os::unix::fs::symlink("otherhost-1", &lock).unwrap();
        assert_eq!(c.list().unwrap()[1].in_use, None);

        assert_eq!(
            c.forget("Prod Admin").unwrap(),
            Forgot::Removed(prod.clone())
        );
        assert!(!prod.exists());
        assert!(dev.exists(), "the other context is untouched");
        assert_eq!(c.forget("Prod Admin").unwrap(), Forgot::NotFound);
        // By its folder's name too.
        fs::remove_file(dev.join(NAME_FILE)).unwrap();
        assert_eq!(c.forget("dev").unwrap(), Forgot::Removed(dev));
    }

    const ONE_TIME: &str =
        "http://127.0.0.1:40123/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    #[test]
    fn the_container_urls_exactly() {
        assert_eq!(
            container_url(Extension::Granted, "prod", ONE_TIME),
            "ext+granted-containers:name=prod&url=http%3A%2F%2F127.0.0.1%3A40123%2F0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0&color=pink&icon=fingerprint"
        );
        assert_eq!(
            container_url(Extension::OpenUrlInContainer, "dev", "https://example.com/a?b=c&d=e#f"),
            "ext+container:name=dev&url=https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc%26d%3De%23f&color=purple&icon=fingerprint"
        );
        // Names that would break the query are encoded: one `&` per separator.
        let u = container_url(Extension::Granted, "Prod & Co #1 50%+é", "https://x/");
        assert!(
            u.starts_with(
                "ext+granted-containers:name=Prod%20%26%20Co%20%231%2050%25%2B%C3%A9&url="
            ),
            "{u}"
        );
        assert_eq!(u.matches('&').count(), 3);
    }

    #[test]
    fn container_colours_are_stable_and_spread() {
        // Pinned: a profile's container keeps its colour from one version to the next.
        for (name, colour) in [
            ("prod", "pink"),
            ("dev", "purple"),
            ("staging", "red"),
            ("sandbox", "turquoise"),
        ] {
            assert_eq!(container_color(name), colour, "{name}");
        }
        let used: std::collections::HashSet<&str> = (0..200)
            .map(|i| container_color(&format!("account-{i}")))
            .collect();
        assert_eq!(used.len(), COLORS.len(), "every colour gets used");
    }
}
