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

/// A command's words with the URL in: in place of `%s` (`%%` is a `%`), else appended.
pub fn argv(words: &[String], url: &str) -> Vec<String> {
    let mut placed = false;
    let mut out: Vec<String> = words
        .iter()
        .map(|w| {
            let mut word = String::new();
            let mut chars = w.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('%', Some('s')) => {
                        chars.next();
                        word.push_str(url);
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

/// Opens `url` with the first command that starts.
pub fn open(url: &str) -> Opened {
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
            strings(&["b", "--url=U", "100%"])
        );
        // `%%s` is a literal `%s`, so the URL still goes last.
        assert_eq!(
            argv(&strings(&["b", "%%s"]), "U"),
            strings(&["b", "%s", "U"])
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
