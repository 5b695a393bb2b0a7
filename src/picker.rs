//! A fuzzy picker drawn on the controlling terminal, never on stdout or stdin, so that it works
//! inside `eval "$(stsenv assume)"`: typing filters (each word fuzzily, without regard to
//! case), arrows and Enter choose, Esc and Ctrl-C cancel. It draws only the lines on screen,
//! asking for each as it draws it, so the first frame costs a screenful, not the whole list.
//! Knows nothing of what the lines are.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::terminal::{self, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{execute, queue};
use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// Set while the terminal is in raw mode on the alternate screen, so that a panic can put
/// it back (with `panic = "abort"`, no Drop runs then).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back if the picker left it raw: for the panic hook.
pub fn restore_if_active() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        if let Some(mut tty) = crate::tty::open() {
            let _ = execute!(tty, Show, LeaveAlternateScreen);
        }
        let _ = terminal::disable_raw_mode();
    }
}

struct Guard(File);

impl Drop for Guard {
    fn drop(&mut self) {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            let _ = execute!(self.0, Show, LeaveAlternateScreen);
            let _ = terminal::disable_raw_mode();
        }
    }
}

/// What the picker lists.
pub trait Items {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// What a query is matched against.
    fn text(&self, i: usize) -> &str;
    /// The line drawn for item `i`, which may say more once more is known.
    fn line(&self, i: usize) -> String;
    /// Whether the lines say more than when last asked (a redraw is due).
    fn changed(&self) -> bool {
        false
    }
}

/// Plain lines, drawn as they are.
impl Items for Vec<String> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn text(&self, i: usize) -> &str {
        &self[i]
    }

    fn line(&self, i: usize) -> String {
        self[i].clone()
    }
}

/// The index of the item chosen, or None when the person cancelled.
pub fn pick(prompt: &str, items: &dyn Items) -> io::Result<Option<usize>> {
    let tty = crate::tty::open().ok_or_else(|| io::Error::other("no terminal"))?;
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut g = Guard(tty);
    execute!(g.0, EnterAlternateScreen)?;
    let mut query = String::new();
    let mut hits = rank(items, "");
    let (mut sel, mut top) = (0usize, 0usize);
    loop {
        let (w, h) = terminal::size()?;
        let rows = (h as usize).saturating_sub(2).max(1);
        sel = sel.min(hits.len().saturating_sub(1));
        top = top.min(sel).max((sel + 1).saturating_sub(rows));
        let view = View {
            prompt,
            query: &query,
            items,
            hits: &hits,
            sel,
            top,
            rows,
            width: w as usize,
        };
        draw(&mut g.0, &view)?;
        // scripts/bench.sh times the first frame: start, load, rank and draw, then stop.
        if std::env::var_os("STSENV_PICKER_FIRST_FRAME_ONLY").is_some() {
            return Ok(None);
        }
        // crossterm waits forever once the terminal is gone and SIGHUP is ignored: wake up
        // now and then, and let a write to the terminal fail instead; redraw when the items
        // say more.
        let mut redraw = false;
        while !event::poll(Duration::from_millis(50))? {
            if items.changed() {
                redraw = true;
                break;
            }
            g.0.write_all(b"\x1b[0m")?;
        }
        if redraw {
            continue;
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
        let before = query.clone();
        match code {
            KeyCode::Esc => return Ok(None),
            KeyCode::Char('c' | 'd' | 'g') if ctrl => return Ok(None),
            KeyCode::Enter if !hits.is_empty() => return Ok(Some(hits[sel])),
            KeyCode::Up | KeyCode::BackTab => sel = sel.saturating_sub(1),
            KeyCode::Char('p' | 'k') if ctrl => sel = sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Tab => sel += 1,
            KeyCode::Char('n' | 'j') if ctrl => sel += 1,
            KeyCode::PageUp => sel = sel.saturating_sub(rows),
            KeyCode::PageDown => sel += rows,
            KeyCode::Home => sel = 0,
            KeyCode::End => sel = usize::MAX,
            KeyCode::Backspace => {
                query.pop();
            }
            KeyCode::Char('u') if ctrl => query.clear(),
            KeyCode::Char(c) if !ctrl => query.push(c),
            _ => {}
        }
        if query != before {
            hits = rank(items, &query);
            (sel, top) = (0, 0);
        }
    }
}

/// The items matching `query`, best first (ties in list order); every item for no query.
/// Each word of the query must match, fuzzily and without regard to case.
pub fn rank(items: &dyn Items, query: &str) -> Vec<usize> {
    let pattern = Pattern::new(
        query,
        CaseMatching::Ignore,
        Normalization::Smart,
        AtomKind::Fuzzy,
    );
    if pattern.atoms.is_empty() {
        return (0..items.len()).collect();
    }
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut hits: Vec<(u32, usize)> = (0..items.len())
        .filter_map(|i| {
            pattern
                .score(Utf32Str::new(items.text(i), &mut buf), &mut matcher)
                .map(|score| (score, i))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    hits.into_iter().map(|(_, i)| i).collect()
}

struct View<'a> {
    prompt: &'a str,
    query: &'a str,
    items: &'a dyn Items,
    hits: &'a [usize],
    sel: usize,
    top: usize,
    rows: usize,
    width: usize,
}

fn draw(out: &mut File, v: &View) -> io::Result<()> {
    // The last column is never written: some terminals wrap there.
    let width = v.width.saturating_sub(1);
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    // One write per frame: no flicker.
    let mut buf = Vec::with_capacity(16 * 1024);
    queue!(
        buf,
        Hide,
        MoveTo(0, 0),
        Print(cut(&format!("{}{}", v.prompt, v.query), width)),
        Clear(ClearType::UntilNewLine)
    )?;
    let count = format!("  {}/{}", v.hits.len(), v.items.len());
    queue!(
        buf,
        MoveTo(0, 1),
        SetAttribute(Attribute::Dim),
        Print(cut(&count, width)),
        SetAttribute(Attribute::Reset),
        Clear(ClearType::UntilNewLine)
    )?;
    for (row, &i) in v.hits.iter().enumerate().skip(v.top).take(v.rows) {
        let line = cut(&v.items.line(i), width.saturating_sub(2));
        queue!(buf, MoveTo(0, (row - v.top + 2) as u16))?;
        if row == v.sel {
            queue!(
                buf,
                SetAttribute(Attribute::Reverse),
                Print("> "),
                Print(line),
                SetAttribute(Attribute::Reset)
            )?;
        } else {
            queue!(buf, Print("  "), Print(line))?;
        }
        queue!(buf, Clear(ClearType::UntilNewLine))?;
    }
    let shown = v.hits.len().saturating_sub(v.top).min(v.rows);
    if shown < v.rows {
        queue!(
            buf,
            MoveTo(0, (shown + 2) as u16),
            Clear(ClearType::FromCursorDown)
        )?;
    }
    let col = (v.prompt.chars().count() + v.query.chars().count()).min(width.saturating_sub(1));
    queue!(buf, MoveTo(col as u16, 0), Show)?;
    out.write_all(&buf)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_matches_fuzzily_without_case() {
        let items: Vec<String> = [
            "prod-admin  role  123456789012  Admin",
            "dev.ReadOnly  sso  222222222222  ReadOnly",
            "payments-prod  sso  333333333333  PowerUser",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(rank(&items, ""), [0, 1, 2]);
        assert_eq!(rank(&items, "PAY prod"), [2]);
        assert_eq!(rank(&items, "rdonly"), [1]);
        assert_eq!(rank(&items, "2222 read"), [1]);
        assert!(rank(&items, "nothing-like-it").is_empty());
    }
}
