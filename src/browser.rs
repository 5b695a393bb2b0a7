//! Handing a URL to the user's browser: `$BROWSER` (commands separated by `:`, `%s` where the
//! URL goes), else the platform's opener; or to the terminal when no browser can be started.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
        match start(&argv) {
            Ok(()) => return Opened::With(name),
            Err(why) => failures.push(format!("{name} {why}")),
        }
    }
    Opened::Failed(failures.join("; "))
}

/// Runs the opener with no stdio of ours (what it says could quote the URL) in a process
/// group of its own (a browser it starts outlives this run and the terminal's Ctrl-C).
fn start(argv: &[String]) -> Result<(), String> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
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
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("failed ({status})")),
            Ok(None) if started.elapsed() >= SETTLE => return Ok(()),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("could not be waited for ({e})")),
        }
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
}
