//! The AWS config and credentials files as text, for the edits stsenv makes to them: where a
//! section starts and ends, its keys, and how a section is written. Every byte stsenv doesn't
//! mean to change stays as it was (comments, order, blank lines, line endings). Knows nothing
//! of what the sections mean.

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

/// `[header]` and `key = value` lines, each ending in `eol`.
pub fn render(header: &str, body: &[(&str, String)], eol: &str) -> String {
    let mut out = format!("[{header}]{eol}");
    for (k, v) in body {
        out.push_str(&format!("{k} = {v}{eol}"));
    }
    out
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
