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

/// The first section whose header is one of `names` (blanks inside a header count as one:
/// `[profile  dev]` is `profile dev`).
pub fn find<'a>(lines: &[&'a str], names: &[&str]) -> Option<Section<'a>> {
    sections(lines).into_iter().find(|s| {
        let name = s.name.split_whitespace().collect::<Vec<_>>().join(" ");
        names.contains(&name.as_str())
    })
}

/// Whether `line` (a key line or one of its continuation lines) belongs to one of `keys`,
/// given the key line last seen: continuation lines go with the key above them.
fn owned_by(line: &str, keys: &[&str], current: &mut bool) -> bool {
    if !is_continuation(line) {
        *current = key_of(line).is_some_and(|k| keys.contains(&k));
    }
    *current
}

/// `text` with `key = value` in the section named one of `names`: in place of the section's
/// first `key` line (its other `key` lines dropped), else after the section's last line; the
/// section `[header]` appended when there is none. Every other byte stays. The value is
/// refused if it could break its line.
pub fn set_key(
    text: &str,
    names: &[&str],
    header: &str,
    key: &str,
    value: &str,
) -> Result<String, Error> {
    let eol = eol(text);
    let line = render("x", &[(key, value.to_string())], eol)?;
    let line = &line[line.find(eol).unwrap_or(0) + eol.len()..];
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(found) = find(&lines, names) else {
        return Ok(append(
            text,
            &render(header, &[(key, value.to_string())], eol)?,
        ));
    };
    let mut out: String = lines[..=found.start].concat();
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    let (mut current, mut placed) = (false, false);
    for l in &lines[found.start + 1..found.end] {
        if owned_by(l, &[key], &mut current) {
            if !placed && !is_continuation(l) {
                out.push_str(line);
                placed = true;
            }
            continue;
        }
        out.push_str(l);
    }
    if !placed {
        if !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(line);
    }
    if !out.ends_with('\n') && found.end < lines.len() {
        out.push_str(eol);
    }
    out.push_str(&lines[found.end..].concat());
    Ok(out)
}

/// `text` without the lines of `keys` (and their continuation lines) in the section named
/// one of `names`; None when it holds none of them. With `drop_empty`, a section left with
/// nothing but its header goes too, with the blank line before it. Every other byte stays.
pub fn remove_keys(text: &str, names: &[&str], keys: &[&str], drop_empty: bool) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let found = find(&lines, names)?;
    let mut current = false;
    let kept: Vec<&str> = lines[found.start + 1..found.end]
        .iter()
        .copied()
        .filter(|l| !owned_by(l, keys, &mut current))
        .collect();
    if kept.len() == found.end - found.start - 1 {
        return None;
    }
    let empty = kept.iter().all(|l| l.trim().is_empty());
    let mut start = found.start;
    if drop_empty && empty && start > 0 && lines[start - 1].trim().is_empty() {
        start -= 1;
    }
    let mut out: String = lines[..start].concat();
    if !(drop_empty && empty) {
        out.push_str(lines[found.start]);
        out.push_str(&kept.concat());
    }
    out.push_str(&lines[found.end..].concat());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_key_replaces_in_place_or_appends_and_keeps_every_other_byte() {
        let text =
            "# top\r\n[profile a]\r\nregion = x\r\n\r\n# about b\r\n[profile b]\r\nk = 1\r\n";
        assert_eq!(
            set_key(text, &["profile a"], "profile a", "cp", "v").unwrap(),
            "# top\r\n[profile a]\r\nregion = x\r\ncp = v\r\n\r\n# about b\r\n[profile b]\r\nk = 1\r\n"
        );
        let text = "[profile a]\ncp = old\n  more\nregion = x\ncp = again\n";
        assert_eq!(
            set_key(text, &["profile a"], "profile a", "cp", "v").unwrap(),
            "[profile a]\ncp = v\nregion = x\n"
        );
        assert_eq!(
            set_key("[default]\nx = 1", &["profile b"], "profile b", "cp", "v").unwrap(),
            "[default]\nx = 1\n\n[profile b]\ncp = v\n"
        );
        assert_eq!(
            set_key(
                "[profile  b]\nx = 1",
                &["profile b"],
                "profile b",
                "cp",
                "v"
            )
            .unwrap(),
            "[profile  b]\nx = 1\ncp = v\n"
        );
        assert!(set_key("", &["p"], "p", "cp", "a\nb").is_err());
    }

    #[test]
    fn remove_keys_takes_only_those_lines() {
        let text = "[a]\nk = 1\n\n[b]\nid = X\n; mine\nsecret = Y\n  cont\nregion = r\n\n[c]\n";
        assert_eq!(
            remove_keys(text, &["b"], &["id", "secret"], false).unwrap(),
            "[a]\nk = 1\n\n[b]\n; mine\nregion = r\n\n[c]\n"
        );
        assert_eq!(remove_keys(text, &["b"], &["nothing"], false), None);
        assert_eq!(remove_keys(text, &["z"], &["id"], false), None);
        let added = set_key("[a]\nk = 1\n", &["profile x"], "profile x", "cp", "v").unwrap();
        assert_eq!(
            remove_keys(&added, &["profile x"], &["cp"], true).unwrap(),
            "[a]\nk = 1\n"
        );
        assert_eq!(
            remove_keys("[b]\nid = X\n", &["b"], &["id"], false).unwrap(),
            "[b]\n"
        );
    }

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
