//! The AWS config and credentials files as text, for the edits stsenv makes to them: where a
//! section starts and ends, its keys, and how a section is written. Every byte stsenv doesn't
//! mean to change stays as it was (comments, order, blank lines, line endings). Knows nothing
//! of what the sections mean.

use crate::error::Error;

/// The name inside a `[header]` line, trimmed: `profile dev`, `default`, `sso-session corp`.
pub fn header(line: &str) -> Option<&str> {
    let inner = line.trim().strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim())
}

pub fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with(';')
}

/// The key of a `key = value` line (not of a continuation line).
pub fn key_of(line: &str) -> Option<&str> {
    if is_blank_or_comment(line) || line.starts_with([' ', '\t']) {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    Some(key.trim())
}

/// A continuation line of the key above it (indented, not blank).
pub fn is_continuation(line: &str) -> bool {
    line.starts_with([' ', '\t']) && !line.trim().is_empty()
}

/// The file's line ending: CRLF if it has any, else LF.
pub fn eol(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// One section of a file: its header's name, and the lines it spans (the header first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub name: &'a str,
    /// Index of the header line.
    pub start: usize,
    /// One past its last line. The blank lines and comments just before the next header
    /// belong to the next section, and are not part of this one.
    pub end: usize,
}

/// Every section of `lines` (as `text.split_inclusive('\n')` gives them).
pub fn sections<'a>(lines: &[&'a str]) -> Vec<Section<'a>> {
    let headers: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((i, header(l)?)))
        .collect();
    headers
        .iter()
        .enumerate()
        .map(|(n, &(start, name))| {
            let next = headers.get(n + 1).map_or(lines.len(), |(i, _)| *i);
            let mut end = next;
            while end > start + 1 && is_blank_or_comment(lines[end - 1]) {
                end -= 1;
            }
            Section { name, start, end }
        })
        .collect()
}

/// The keys and values of a section's lines (after its header).
pub fn keys<'a>(lines: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    lines
        .iter()
        .filter_map(|l| {
            let key = key_of(l)?;
            let value = l.split_once('=')?.1.trim();
            Some((key, value))
        })
        .collect()
}

/// Whether `value` can stand on one line of an AWS config or credentials file and mean only
/// itself: no line break of any kind (`\n`, `\r`, U+0085, U+2028, U+2029), no NUL, no other
/// control character (a tab is fine). A value that breaks its line could start a section or
/// a `credential_process` line of its own.
pub fn safe_value(value: &str) -> bool {
    !value
        .chars()
        .any(|c| (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}'))
}

/// `[header]` and `key = value` lines, each ending in `eol`. A header or value that is not
/// `safe_value` is refused, whatever its source, naming only its key (values may be secrets).
pub fn render(header: &str, body: &[(&str, String)], eol: &str) -> Result<String, Error> {
    if !safe_value(header) || header.contains([']', '[']) {
        return Err(Error::FileValue {
            key: "the section name".into(),
        });
    }
    let mut out = format!("[{header}]{eol}");
    for (k, v) in body {
        if !safe_value(v) {
            return Err(Error::FileValue {
                key: (*k).to_string(),
            });
        }
        out.push_str(&format!("{k} = {v}{eol}"));
    }
    Ok(out)
}

/// `text` with `section` added at its end, after a blank line when it has content.
pub fn append(text: &str, section: &str) -> String {
    let eol = eol(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    if !out.trim().is_empty() && !out.ends_with(&format!("{eol}{eol}")) {
        out.push_str(eol);
    }
    out.push_str(section);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security round 3, G1: no value, whatever its source, can break its line.
    #[test]
    fn values_that_would_break_their_line_are_refused() {
        for bad in [
            "Admin]\n[default]",
            "a\r\nsso_start_url = https://evil",
            "lone\rcr",
            "nul\0",
            "ls\u{2028}x",
            "ps\u{2029}x",
            "nel\u{85}x",
            "esc\u{1b}[2J",
        ] {
            assert!(!safe_value(bad), "{bad:?}");
            assert!(render("profile p", &[("k", bad.to_string())], "\n").is_err());
        }
        assert!(render("profile a]\n[default", &[], "\n").is_err());
        assert!(safe_value("Admin+=,.@-_ é\tx"));
        assert_eq!(
            render("profile p", &[("k", "v".into())], "\r\n").unwrap(),
            "[profile p]\r\nk = v\r\n"
        );
    }
}
