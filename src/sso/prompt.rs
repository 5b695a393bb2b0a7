//! What a person signing in sees: the code to approve, the browser opened on it (or the URL
//! to open), and a one-line spinner while the approval is awaited. All of it on the terminal
//! (or stderr), never stdout.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use super::device::{Approval, Ui};
use crate::browser;

pub struct TerminalUi {
    open_browser: bool,
    out: Mutex<Out>,
}

struct Out {
    sink: Box<dyn Write + Send>,
    /// Whether the sink is a terminal (a spinner can redraw its line).
    live: bool,
    frame: usize,
    waiting: bool,
}

const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

impl TerminalUi {
    /// `open_browser`: false with `--no-browser` (and where no browser can be opened).
    pub fn new(open_browser: bool) -> TerminalUi {
        let (sink, live): (Box<dyn Write + Send>, bool) = match crate::tty::open() {
            Some(tty) => (Box::new(tty), true),
            None => (Box::new(std::io::stderr()), std::io::stderr().is_terminal()),
        };
        TerminalUi {
            open_browser: open_browser
                && (std::env::var_os("BROWSER").is_some_and(|b| !b.is_empty())
                    || browser::has_display()),
            out: Mutex::new(Out {
                sink,
                live,
                frame: 0,
                waiting: false,
            }),
        }
    }

    /// One line for the person, e.g. what is being signed in to.
    pub fn say(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out.sink, "stsenv: {}", crate::error::sanitize(line));
    }
}

impl Ui for TerminalUi {
    fn approve(&self, a: &Approval) {
        // What the service sent is shown one value at a time, each on its own line with its
        // control characters escaped: a newline in a code can't forge a line of ours. A URL
        // is shown as stsenv would open it (percent-encoded), or escaped when it is refused.
        let shown = |url: &str| {
            let url = browser::safe_url(url).unwrap_or_else(|_| crate::error::escape_controls(url));
            cut(url, 2048)
        };
        let code = cut(crate::error::escape_controls(&a.user_code), 64);
        let target = a
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&a.verification_uri);
        let opened = self.open_browser && matches!(browser::open(target), browser::Opened::With(_));
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let lines = if opened {
            format!(
                "stsenv: opened your browser to approve the sign-in; if it didn't open, go to {}\nstsenv: check that the page shows the code {code} and approve it\n",
                shown(&a.verification_uri)
            )
        } else {
            format!(
                "stsenv: to sign in, open {} in a browser (on any device)\nstsenv: and enter the code {code}{}\n",
                shown(&a.verification_uri),
                a.verification_uri_complete
                    .as_deref()
                    .map(|u| format!(" (or open {}, which fills it in)", shown(u)))
                    .unwrap_or_default()
            )
        };
        let _ = out.sink.write_all(lines.as_bytes());
        let _ = out.sink.flush();
    }

    fn tick(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if out.live {
            let frame = FRAMES[out.frame % FRAMES.len()];
            out.frame += 1;
            let _ = write!(
                out.sink,
                "\r{frame} waiting for approval… (Ctrl-C to cancel)"
            );
            let _ = out.sink.flush();
        } else if !out.waiting {
            let _ = writeln!(out.sink, "stsenv: waiting for approval… (Ctrl-C to cancel)");
        }
        out.waiting = true;
    }

    fn done(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if out.live && out.waiting {
            // Clear the spinner's line.
            let _ = write!(out.sink, "\r\x1b[2K");
            let _ = out.sink.flush();
        }
        out.waiting = false;
    }
}

/// At most `n` characters of `text`: a hostile service can't flood the terminal.
fn cut(text: String, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
