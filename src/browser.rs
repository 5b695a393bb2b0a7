//! Handing a URL to the user's browser: `$BROWSER` (commands separated by `:`, `%s` where the
//! URL goes), else the platform's opener, or a browser named by its key (chromium, chrome,
//! brave, edge, vivaldi, firefox, firefox-container), found where it is installed and started
//! with the words that open a URL in it, in a context of its own if asked; or to the terminal
//! when no browser can be started.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::browser_context::Extension;
use crate::env::Env;

/// How long an opener may run before it counts as started: a browser run directly (not
/// through xdg-open) keeps running while its window is open.
const SETTLE: Duration = Duration::from_secs(3);

/// What separates the commands in `$BROWSER`: the PATH separator, as Python's webbrowser has
/// it (so `C:\…` survives on Windows).
const LIST_SEP: char = if cfg!(windows) { ';' } else { ':' };

#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// Started with this program.
    With(String),
    /// Nothing to start: no `$BROWSER`, and no display for the platform's opener.
    NoDisplay,
    /// Every opener failed; why, in words (never the URL).
    Failed(String),
    /// The URL is not one stsenv opens (not https, nor http to this machine); why.
    Refused(String),
}

/// The characters a URL handed to a browser may hold as they are. RFC 3986 allows more, but
/// `;`, `$`, `(`, `'`, `!`, `*`, `,` and `@` are also shell syntax or option-like to some
/// openers: they are percent-encoded.
fn plain_url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._~:/?#=&%-".contains(&b)
}

/// `url` as stsenv will open it: only `https://`, or `http://` to this machine (the loopback
/// listeners of sign-in and the console), with every character outside
/// `[A-Za-z0-9._~:/?#=&%-]` percent-encoded. It then cannot read as an option (it starts with
/// a scheme) nor as shell syntax. Err says why it is refused.
pub fn safe_url(url: &str) -> Result<String, String> {
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(rest) = lower.strip_prefix("https://") {
        rest
    } else if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.split(':').next().unwrap_or(""),
        };
        let loopback = name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err("it is plain http to another machine".into());
        }
        rest
    } else {
        return Err("only https:// URLs are opened".into());
    };
    if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
        return Err("it names no host".into());
    }
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if plain_url_char(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// The commands that may open a URL, in the order tried, as words; empty when there is no
/// display to open one on.
pub fn commands(browser: Option<&str>, display: bool) -> Vec<Vec<String>> {
    if let Some(list) = browser.filter(|b| !b.trim().is_empty()) {
        return list
            .split(LIST_SEP)
            .filter_map(crate::shell::split_posix_words)
            .filter(|words| !words.is_empty())
            .collect();
    }
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    if cfg!(target_os = "macos") {
        vec![words(&["open"])]
    } else if cfg!(windows) {
        // Not `cmd /c start`: cmd would read the URL's `&` as a command separator and its
        // `%…%` as variables. This hands it to the shell's URL handler untouched.
        vec![words(&["rundll32", "url.dll,FileProtocolHandler"])]
    } else if display {
        vec![words(&["xdg-open"]), words(&["x-www-browser"])]
    } else {
        Vec::new()
    }
}

/// A command's words with the URL in: a word that is `%s` becomes the URL, one argument; a
/// `%s` inside a longer word (`sh -c 'firefox %s'`) becomes the URL single-quoted, so that
/// the URL is never pasted into shell text; `%%` is a `%`. Without `%s`, the URL is appended.
pub fn argv(words: &[String], url: &str) -> Vec<String> {
    let mut placed = false;
    let mut out: Vec<String> = words
        .iter()
        .map(|w| {
            if w == "%s" {
                placed = true;
                return url.to_string();
            }
            let mut word = String::new();
            let mut chars = w.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('%', Some('s')) => {
                        chars.next();
                        word.push_str(&crate::shell::quote_posix(url));
                        placed = true;
                    }
                    ('%', Some('%')) => {
                        chars.next();
                        word.push('%');
                    }
                    (c, _) => word.push(c),
                }
            }
            word
        })
        .collect();
    if !placed {
        out.push(url.to_string());
    }
    out
}

/// Whether a browser could show up: always on macOS and Windows; elsewhere an X11 or
/// Wayland display.
pub fn has_display() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    cfg!(any(target_os = "macos", windows)) || set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// Opens `url` with the first command that starts, if it is `safe_url`.
pub fn open(url: &str) -> Opened {
    open_until(url, &|| false)
}

/// `open`, done as soon as `done` says so (the browser came for the URL) rather than when
/// the opener exits or has run for a while.
pub fn open_until(url: &str, done: &dyn Fn() -> bool) -> Opened {
    let url = match safe_url(url) {
        Ok(u) => u,
        Err(why) => return Opened::Refused(why),
    };
    let url = url.as_str();
    let browser = std::env::var("BROWSER").ok();
    let commands = commands(browser.as_deref(), has_display());
    if commands.is_empty() {
        return Opened::NoDisplay;
    }
    let mut failures = Vec::new();
    for words in &commands {
        let argv = argv(words, url);
        let name = std::path::Path::new(&argv[0])
            .file_name()
            .map_or_else(|| argv[0].clone(), |n| n.to_string_lossy().into_owned());
        let words: Vec<OsString> = argv.iter().map(OsString::from).collect();
        match start(&words, done, SETTLE) {
            Ok(()) => return Opened::With(name),
            Err(why) => failures.push(format!("{name} {why}")),
        }
    }
    Opened::Failed(failures.join("; "))
}

/// Runs the opener with no stdio of ours (what it says could quote the URL), without the AWS
/// credentials of this shell in its environment (a browser has no use for them), in a
/// process group of its own (a browser it starts outlives this run and the terminal's
/// Ctrl-C). Ok once it exited well, `done` says so, or it has run for `patience`.
pub fn start(argv: &[OsString], done: &dyn Fn() -> bool, patience: Duration) -> Result<(), String> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in crate::session::CREDENTIAL_VARS {
        cmd.env_remove(name);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "is not installed".to_string(),
        _ => format!("could not be started ({e})"),
    })?;
    let started = Instant::now();
    loop {
        if done() {
            return Ok(());
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("failed ({status})")),
            Ok(None) if started.elapsed() >= patience => return Ok(()),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("could not be waited for ({e})")),
        }
    }
}

/// What `--browser` and `stsenv_browser` take: a browser of `NAMED`, or `default` (what opens
/// links here: `$BROWSER`, else the platform's opener).
pub const KEYS: [&str; 8] = [
    "chromium",
    "chrome",
    "brave",
    "edge",
    "vivaldi",
    "firefox",
    "firefox-container",
    "default",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A context is a user-data folder of its own.
    Chromium,
    /// A context is a container, opened through this extension's URL scheme.
    Firefox(Extension),
}

/// A browser that can be named, and where it is installed.
#[derive(Debug)]
pub struct Named {
    pub key: &'static str,
    pub family: Family,
    /// Command names looked for on PATH, in order.
    path_names: &'static [&'static str],
    /// Where it is on macOS (`~/` under HOME).
    macos: &'static [&'static str],
    /// Where it is on Windows: `%VAR%\…`.
    windows: &'static [&'static str],
}

const FIREFOX_PATHS: &[&str] = &["firefox", "firefox-esr"];
const FIREFOX_MACOS: &[&str] = &["/Applications/Firefox.app/Contents/MacOS/firefox"];
const FIREFOX_WINDOWS: &[&str] = &[
    r"%ProgramFiles%\Mozilla Firefox\firefox.exe",
    r"%ProgramFiles(x86)%\Mozilla Firefox\firefox.exe",
];

/// In the order they are looked for when none is named.
pub const NAMED: [Named; 7] = [
    Named {
        key: "chromium",
        family: Family::Chromium,
        path_names: &["chromium", "chromium-browser"],
        macos: &[
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            "~/Applications/Chromium.app/Contents/MacOS/Chromium",
        ],
        windows: &[
            r"%LOCALAPPDATA%\Chromium\Application\chrome.exe",
            r"%ProgramFiles%\Chromium\Application\chrome.exe",
        ],
    },
    Named {
        key: "chrome",
        family: Family::Chromium,
        path_names: &["google-chrome-stable", "google-chrome"],
        macos: &[
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "~/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        ],
        windows: &[
            r"%ProgramFiles%\Google\Chrome\Application\chrome.exe",
            r"%ProgramFiles(x86)%\Google\Chrome\Application\chrome.exe",
            r"%LOCALAPPDATA%\Google\Chrome\Application\chrome.exe",
        ],
    },
    Named {
        key: "brave",
        family: Family::Chromium,
        path_names: &["brave-browser", "brave-browser-stable", "brave"],
        macos: &[
            "/Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
            "~/Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
        ],
        windows: &[
            r"%ProgramFiles%\BraveSoftware\Brave-Browser\Application\brave.exe",
            r"%LOCALAPPDATA%\BraveSoftware\Brave-Browser\Application\brave.exe",
        ],
    },
    Named {
        key: "edge",
        family: Family::Chromium,
        path_names: &["microsoft-edge-stable", "microsoft-edge"],
        macos: &["/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge"],
        windows: &[
            r"%ProgramFiles(x86)%\Microsoft\Edge\Application\msedge.exe",
            r"%ProgramFiles%\Microsoft\Edge\Application\msedge.exe",
        ],
    },
    Named {
        key: "vivaldi",
        family: Family::Chromium,
        path_names: &["vivaldi-stable", "vivaldi"],
        macos: &["/Applications/Vivaldi.app/Contents/MacOS/Vivaldi"],
        windows: &[
            r"%LOCALAPPDATA%\Vivaldi\Application\vivaldi.exe",
            r"%ProgramFiles%\Vivaldi\Application\vivaldi.exe",
        ],
    },
    Named {
        key: "firefox",
        family: Family::Firefox(Extension::Granted),
        path_names: FIREFOX_PATHS,
        macos: FIREFOX_MACOS,
        windows: FIREFOX_WINDOWS,
    },
    Named {
        key: "firefox-container",
        family: Family::Firefox(Extension::OpenUrlInContainer),
        path_names: FIREFOX_PATHS,
        macos: FIREFOX_MACOS,
        windows: FIREFOX_WINDOWS,
    },
];

/// The browser of that key (None for `default`, and for a key that is none of them).
pub fn named(key: &str) -> Option<&'static Named> {
    NAMED.iter().find(|b| b.key == key)
}

/// The first browser of `NAMED` that is installed (firefox-container is never picked unnamed:
/// firefox, the same program, comes first).
pub fn first_installed(env: &Env) -> Option<(&'static Named, PathBuf)> {
    NAMED
        .iter()
        .filter(|b| b.key != "firefox-container")
        .find_map(|b| b.find(env).map(|p| (b, p)))
}

/// What a browser is opened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In<'a> {
    /// Its usual context.
    Usual,
    /// A Chromium user-data folder.
    Folder(&'a Path),
    /// A Firefox container of this name.
    Container(&'a str),
}

impl Named {
    /// Where it is installed: on PATH first, then where the platform keeps it.
    pub fn find(&self, env: &Env) -> Option<PathBuf> {
        let path = env.var("PATH").unwrap_or_default();
        let on_path = std::env::split_paths(&path).find_map(|dir| {
            self.path_names.iter().find_map(|name| {
                let mut p = dir.join(name);
                if cfg!(windows) {
                    p.set_extension("exe");
                }
                is_executable(&p).then_some(p)
            })
        });
        if on_path.is_some() {
            return on_path;
        }
        let places: Vec<PathBuf> = if cfg!(target_os = "macos") {
            self.macos
                .iter()
                .filter_map(|p| match p.strip_prefix("~/") {
                    Some(rest) => env.home().map(|h| h.join(rest)),
                    None => Some(PathBuf::from(p)),
                })
                .collect()
        } else if cfg!(windows) {
            self.windows
                .iter()
                .filter_map(|p| {
                    let (var, tail) = p.strip_prefix('%')?.split_once('%')?;
                    Some(PathBuf::from(format!("{}{tail}", env.get(var)?)))
                })
                .collect()
        } else {
            Vec::new()
        };
        places.into_iter().find(|p| is_executable(p))
    }

    /// The names it was looked for by, for a message: "vivaldi-stable or vivaldi".
    pub fn looked_for(&self) -> String {
        self.path_names.join(" or ")
    }

    /// The words that open `url` (a `safe_url`) in it: a Chromium in a user-data folder of its
    /// own gets what a fresh one needs not to ask first-run questions (every time: with
    /// --no-first-run it never writes its First Run mark), and `extra` before the URL; a
    /// Firefox container gets the extension's URL around `url`, in a new tab.
    pub fn argv(&self, exe: &Path, inside: In, url: &str, extra: &[String]) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![exe.into()];
        match self.family {
            Family::Chromium => {
                if let In::Folder(dir) = inside {
                    let mut flag = OsString::from("--user-data-dir=");
                    flag.push(dir);
                    argv.push(flag);
                    for f in [
                        "--no-first-run",
                        "--no-default-browser-check",
                        // Chrome's search engine choice dialog (EEA) on every new profile.
                        "--disable-search-engine-choice-screen",
                    ] {
                        argv.push(f.into());
                    }
                }
                argv.extend(extra.iter().map(OsString::from));
                argv.push(url.into());
            }
            Family::Firefox(ext) => {
                argv.push("--new-tab".into());
                argv.push(match inside {
                    In::Container(name) => {
                        crate::browser_context::container_url(ext, name, url).into()
                    }
                    _ => url.into(),
                });
            }
        }
        argv
    }
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Writes `text` to the controlling terminal, past stdout and stderr; false when there is
/// none.
pub fn to_terminal(text: &str) -> bool {
    #[cfg(unix)]
    {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .and_then(|mut tty| tty.write_all(text.as_bytes()).and_then(|_| tty.flush()))
            .is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = text;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn browser_is_a_list_of_commands_with_or_without_a_placeholder() {
        let cmds = commands(Some("firefox --new-window:'/opt/my browser/run' %s"), false);
        assert_eq!(
            cmds,
            vec![
                strings(&["firefox", "--new-window"]),
                strings(&["/opt/my browser/run", "%s"])
            ]
        );
        let url = "https://x/?a=1&b=%41";
        assert_eq!(
            argv(&cmds[0], url),
            strings(&["firefox", "--new-window", url])
        );
        assert_eq!(argv(&cmds[1], url), strings(&["/opt/my browser/run", url]));
        assert_eq!(
            argv(&strings(&["b", "--url=%s", "100%%"]), "U"),
            strings(&["b", "--url='U'", "100%"])
        );
        // `%%s` is a literal `%s`, so the URL still goes last.
        assert_eq!(
            argv(&strings(&["b", "%%s"]), "U"),
            strings(&["b", "%s", "U"])
        );
    }

    /// Security round 3, G2: only https (or http to this machine) is opened, with nothing a
    /// shell or an option parser could read, and `%s` inside shell text is quoted.
    #[test]
    fn urls_are_checked_and_encoded_before_any_browser_sees_them() {
        assert_eq!(
            safe_url("https://device.sso.us-east-1.amazonaws.com/?user_code=AB-CD").unwrap(),
            "https://device.sso.us-east-1.amazonaws.com/?user_code=AB-CD"
        );
        assert_eq!(
            safe_url("https://x.example/$(id>/tmp/p);'a' b").unwrap(),
            "https://x.example/%24%28id%3E/tmp/p%29%3B%27a%27%20b"
        );
        assert_eq!(
            safe_url("http://127.0.0.1:8080/oauth/callback").unwrap(),
            "http://127.0.0.1:8080/oauth/callback"
        );
        assert!(safe_url("http://[::1]:9/x").is_ok());
        assert!(safe_url("http://localhost/x").is_ok());
        for bad in [
            "--gpu-launcher=sh",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://evil.example/",
            "http://127.0.0.1.evil.example/",
            "https://",
            "ftp://x",
        ] {
            assert!(safe_url(bad).is_err(), "{bad}");
        }
        let url = safe_url("https://x/?a=1&b=2").unwrap();
        let words = argv(&strings(&["sh", "-c", "firefox %s"]), &url);
        assert_eq!(
            words,
            strings(&["sh", "-c", "firefox 'https://x/?a=1&b=2'"])
        );
    }

    #[test]
    #[cfg(all(unix, not(target_os = "macos")))]
    fn without_browser_or_display_nothing_is_started() {
        assert!(commands(None, false).is_empty());
        assert!(commands(Some(" "), false).is_empty());
        assert_eq!(commands(None, true)[0], strings(&["xdg-open"]));
    }

    #[test]
    fn every_browser_the_issue_names_is_known_in_its_order() {
        let keys: Vec<&str> = NAMED.iter().map(|b| b.key).collect();
        assert_eq!(keys, KEYS[..7]);
        assert_eq!(KEYS[7], "default");
        assert!(named("default").is_none() && named("safari").is_none());
    }

    #[test]
    fn a_chromium_context_is_its_own_user_data_folder_without_first_run_questions() {
        let url = "http://127.0.0.1:1/abc";
        let dir = Path::new("/home/u/.local/share/stsenv/browser/prod");
        let extra = strings(&["--headless"]);
        let argv = named("brave").unwrap().argv(
            Path::new("/usr/bin/brave-browser"),
            In::Folder(dir),
            url,
            &extra,
        );
        let want = [
            "/usr/bin/brave-browser",
            "--user-data-dir=/home/u/.local/share/stsenv/browser/prod",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-search-engine-choice-screen",
            "--headless",
            url,
        ];
        assert_eq!(argv, want.map(OsString::from));
        let plain = named("chrome")
            .unwrap()
            .argv(Path::new("/c"), In::Usual, url, &[]);
        assert_eq!(plain, ["/c", url].map(OsString::from));
    }

    #[test]
    fn a_firefox_context_is_the_container_url_in_a_new_tab() {
        let url = "http://127.0.0.1:1/abc";
        let argv =
            |key: &str, inside: In| named(key).unwrap().argv(Path::new("/ff"), inside, url, &[]);
        assert_eq!(
            argv("firefox", In::Container("prod")),
            [
                "/ff",
                "--new-tab",
                "ext+granted-containers:name=prod&url=http%3A%2F%2F127.0.0.1%3A1%2Fabc&color=pink&icon=fingerprint"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            argv("firefox-container", In::Container("dev")),
            [
                "/ff",
                "--new-tab",
                "ext+container:name=dev&url=http%3A%2F%2F127.0.0.1%3A1%2Fabc&color=purple&icon=fingerprint"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            argv("firefox", In::Usual),
            ["/ff", "--new-tab", url].map(OsString::from)
        );
    }

    #[test]
    #[cfg(unix)]
    fn browsers_are_found_on_path_in_order() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        for (name, mode) in [
            ("google-chrome", 0o755),
            ("vivaldi", 0o755),
            ("chromium", 0o644),
        ] {
            let p = t.path().join(name);
            std::fs::write(&p, "").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let env = Env::from_pairs([("PATH", t.path().to_str().unwrap())]);
        assert_eq!(
            named("chrome").unwrap().find(&env),
            Some(t.path().join("google-chrome"))
        );
        assert_eq!(
            named("chromium").unwrap().find(&env),
            None,
            "not executable"
        );
        let (b, p) = first_installed(&env).unwrap();
        assert_eq!((b.key, p), ("chrome", t.path().join("google-chrome")));
        assert_eq!(
            named("vivaldi").unwrap().looked_for(),
            "vivaldi-stable or vivaldi"
        );
    }
}
