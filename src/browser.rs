//! Opening a URL in the user's browser: `$BROWSER` if set (a `:`-separated list, `%s` for
//! the URL), else the platform's opener; nothing where there is no display. The URL is
//! always one argument, never shell text. Knows nothing of what the URL is for.

use std::process::{Command, Stdio};

/// Whether a browser can be opened here: `$BROWSER` is set, or (on Linux and the BSDs) a
/// display is; macOS and Windows always have one.
pub fn available() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    set("BROWSER")
        || cfg!(any(target_os = "macos", windows))
        || set("DISPLAY")
        || set("WAYLAND_DISPLAY")
}

/// Opens `url`; Ok names what was run, Err says why nothing could be (for a message, without
/// the URL, which may be a credential).
pub fn open(url: &str) -> Result<String, String> {
    let commands: Vec<Vec<String>> = match std::env::var("BROWSER").ok().filter(|b| !b.is_empty()) {
        Some(list) => list
            .split(':')
            .map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|c| !c.is_empty())
            .collect(),
        None => vec![platform_opener()],
    };
    let mut tried = Vec::new();
    for words in commands {
        let mut args: Vec<String> = words[1..].to_vec();
        if args.iter().any(|a| a.contains("%s")) {
            args = args.iter().map(|a| a.replace("%s", url)).collect();
        } else {
            args.push(url.to_string());
        }
        let spawned = Command::new(&words[0])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                // Reaped on the side: a terminal browser may run for as long as it likes.
                std::thread::spawn(move || child.wait());
                return Ok(words[0].clone());
            }
            Err(e) => tried.push(format!("{} ({e})", words[0])),
        }
    }
    Err(format!("could not start a browser: {}", tried.join(", ")))
}

fn platform_opener() -> Vec<String> {
    let words: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["cmd", "/c", "start", ""]
    } else {
        &["xdg-open"]
    };
    words.iter().map(|w| w.to_string()).collect()
}
