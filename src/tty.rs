//! The user's terminal, for what must never go to stdout (prompts, sign-in codes, progress):
//! `/dev/tty` when it opens, and whether a person can be asked anything at all.

use std::fs::{File, OpenOptions};

fn path() -> &'static str {
    if cfg!(windows) {
        "CONIN$"
    } else {
        "/dev/tty"
    }
}

/// The controlling terminal, for reading and writing, if there is one.
pub fn open() -> Option<File> {
    OpenOptions::new().read(true).write(true).open(path()).ok()
}

/// Whether a person can be asked to act: a terminal opens and `CI` is not set (a CI job that
/// happens to have a terminal must still fail fast rather than wait for nobody).
pub fn interactive() -> bool {
    std::env::var_os("CI").is_none_or(|v| v.is_empty()) && open().is_some()
}

/// Set while `ask_line` holds the terminal raw, so that a panic can put it back (with
/// `panic = "abort"`, no Drop runs then).
static RAW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Puts the terminal back if `ask_line` left it raw: for the panic hook.
pub fn restore_if_raw() {
    if RAW.swap(false, std::sync::atomic::Ordering::SeqCst) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

struct Raw;

impl Drop for Raw {
    fn drop(&mut self) {
        restore_if_raw();
    }
}

/// The longest line taken: an access key id is 20 characters, its secret 40.
const MAX_LINE: usize = 1024;

/// One line typed on the terminal after `prompt`, shown as it is typed when `echo`, else not
/// shown at all (a secret); None when the person cancels (Ctrl-C, Esc, Ctrl-D). The terminal
/// is raw meanwhile, so a Ctrl-C is a key read here, not a signal that could end the run
/// with the terminal left silent; Backspace and Ctrl-U edit.
pub fn ask_line(prompt: &str, echo: bool) -> std::io::Result<Option<String>> {
    use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
    use std::io::Write;
    use std::sync::atomic::Ordering;

    let mut tty = open().ok_or_else(|| std::io::Error::other("no terminal"))?;
    crossterm::terminal::enable_raw_mode()?;
    RAW.store(true, Ordering::SeqCst);
    let _raw = Raw;
    write!(tty, "{prompt}")?;
    tty.flush()?;
    let mut line = String::new();
    let answer = loop {
        // crossterm waits forever once the terminal is gone and SIGHUP is ignored: wake up
        // now and then, and let a write to the terminal fail instead.
        while !event::poll(std::time::Duration::from_millis(300))? {
            tty.write_all(b"\x1b[0m")?;
            tty.flush()?;
        }
        let Event::Key(KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            ..
        }) = event::read()?
        else {
            continue;
        };
        let ctrl = modifiers.contains(KeyModifiers::CONTROL);
        match code {
            KeyCode::Enter => break Some(line),
            KeyCode::Char('j' | 'm') if ctrl => break Some(line),
            KeyCode::Esc => break None,
            KeyCode::Char('c' | 'g') if ctrl => break None,
            KeyCode::Char('d') if ctrl && line.is_empty() => break None,
            KeyCode::Char('u') if ctrl => {
                if echo {
                    let n = line.chars().count();
                    write!(tty, "{}", "\u{8} \u{8}".repeat(n))?;
                }
                line.clear();
            }
            KeyCode::Backspace => {
                let erased = line.pop().is_some();
                if erased && echo {
                    write!(tty, "\u{8} \u{8}")?;
                }
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() && line.len() < MAX_LINE => {
                line.push(c);
                if echo {
                    write!(tty, "{c}")?;
                }
            }
            _ => {}
        }
        tty.flush()?;
    };
    write!(tty, "\r\n")?;
    tty.flush()?;
    Ok(answer)
}
