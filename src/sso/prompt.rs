//! What a person signing in sees: the browser opened on the sign-in page (and its URL, in
//! case it didn't open), or the device code to approve, and a one-line spinner while the
//! browser or the approval is awaited. All of it on the terminal (or stderr), never stdout.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use super::code;
use super::device::{self, Approval};
use super::pkce::Refused;
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
        out.clear_spinner();
        let _ = writeln!(out.sink, "stsenv: {}", crate::error::sanitize(line));
    }

    fn spin(&self, what: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if out.live {
            let frame = FRAMES[out.frame % FRAMES.len()];
            out.frame += 1;
            let _ = write!(out.sink, "\r{frame} {what}… (Ctrl-C to cancel)");
            let _ = out.sink.flush();
        } else if !out.waiting {
            let _ = writeln!(out.sink, "stsenv: {what}… (Ctrl-C to cancel)");
        }
        out.waiting = true;
    }

    fn stop_spinning(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.clear_spinner();
        out.waiting = false;
    }
}

impl Out {
    /// Clears the spinner's line, when one is drawn.
    fn clear_spinner(&mut self) {
        if self.live && self.waiting {
            let _ = write!(self.sink, "\r\x1b[2K");
            let _ = self.sink.flush();
        }
    }
}

/// A URL as the person sees it: as stsenv would open it (percent-encoded), or with its
/// control characters escaped when it is refused; never more than 2,048 characters.
fn shown(url: &str) -> String {
    let url = browser::safe_url(url).unwrap_or_else(|_| crate::error::escape_controls(url));
    cut(url, 2048)
}

impl code::Ui for TerminalUi {
    fn authorize(&self, url: &str) {
        let opened = self.open_browser && matches!(browser::open(url), browser::Opened::With(_));
        let lead = if opened {
            "opened your browser to sign in; if it didn't open, open this URL in a browser on this machine:"
        } else {
            "to sign in, open this URL in a browser on this machine:"
        };
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // The URL alone on its line, to be copied whole.
        let _ = write!(out.sink, "stsenv: {lead}\n  {}\n", shown(url));
        let _ = out.sink.flush();
    }

    fn tick(&self) {
        self.spin("waiting for the browser");
    }

    fn refused(&self, why: &Refused) {
        let line = match why {
            Refused::MissingState => "refused an answer from the browser without this sign-in's state; still waiting",
            _ => "refused an answer from the browser for another sign-in (an older tab?); still waiting",
        };
        self.say(line);
    }

    fn done(&self) {
        self.stop_spinning();
    }
}

impl device::Ui for TerminalUi {
    fn approve(&self, a: &Approval) {
        // What the service sent is shown one value at a time, each on its own line with its
        // control characters escaped: a newline in a code can't forge a line of ours. A URL
        // is shown as stsenv would open it (percent-encoded), or escaped when it is refused.
        let code = cut(crate::error::escape_controls(&a.user_code), 64);
        let target = a
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&a.verification_uri);
        let opened = self.open_browser && matches!(browser::open(target), browser::Opened::With(_));
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // IAM Identity Center's approval page no longer carries the code in its URL: the
        // page shows it, and the person checks it against this one.
        let lines = match (opened, &a.verification_uri_complete) {
            (true, _) => format!(
                "stsenv: opened your browser to approve the sign-in; if it didn't open, open {} in a browser (on any device)\nstsenv: check that the page shows the code {code} and approve it\n",
                shown(target)
            ),
            (false, Some(complete)) => format!(
                "stsenv: to sign in, open {} in a browser (on any device)\nstsenv: check that the page shows the code {code} and approve it (or open {} and enter the code)\n",
                shown(complete),
                shown(&a.verification_uri)
            ),
            (false, None) => format!(
                "stsenv: to sign in, open {} in a browser (on any device)\nstsenv: and enter the code {code}\n",
                shown(&a.verification_uri)
            ),
        };
        let _ = out.sink.write_all(lines.as_bytes());
        let _ = out.sink.flush();
    }

    fn tick(&self) {
        self.spin("waiting for approval");
    }

    fn done(&self) {
        self.stop_spinning();
    }
}

/// At most `n` characters of `text`: a hostile service can't flood the terminal.
fn cut(text: String, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
