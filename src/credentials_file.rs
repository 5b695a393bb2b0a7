//! `--write-profile NAME`: the credentials go into the shared credentials file as `[NAME]`.
//! Only that section changes; every other byte of the file (comments, order, other profiles,
//! line endings) stays as it was. Written atomically, 0600.

use std::path::PathBuf;

use crate::aws_files::credentials_path;
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::session::Credentials;
use crate::time::rfc3339;

pub fn check_profile_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::bad(
            "profile name",
            name,
            "use letters, digits and _+=,.@- (up to 64)",
        ))
    }
}

/// Writes `[name]` and returns the file's path.
pub fn write_profile(name: &str, creds: &Credentials) -> Result<PathBuf, Error> {
    let mut body = vec![
        ("aws_access_key_id", creds.access_key_id.clone()),
        ("aws_secret_access_key", creds.secret_access_key.clone()),
    ];
    if let Some(token) = &creds.session_token {
        body.push(("aws_session_token", token.clone()));
    }
    if let Some(exp) = creds.expires {
        body.push(("x_security_token_expires", rfc3339(exp)));
    }
    if body.iter().any(|(_, v)| v.contains(['\n', '\r'])) {
        return Err(Error::Unrenderable {
            name: "credentials file",
            why: "a value contains a line break, which the file format can't hold",
        });
    }
    let file = credentials_path()?;
    // Follow a symlinked credentials file, as the AWS CLI does when it reads it.
    let target = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
    let old = match std::fs::read_to_string(&target) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read {}: {e}",
                target.display()
            )))
        }
    };
    let new = replace_section(&old, name, &body);
    let (dir, file_name) = match (target.parent(), target.file_name()) {
        (Some(d), Some(f)) => (d.to_path_buf(), f.to_string_lossy().into_owned()),
        _ => {
            return Err(Error::Config(format!(
                "{} is not a file path",
                target.display()
            )))
        }
    };
    write_atomic(&dir, &file_name, &new)
        .map_err(|e| Error::Config(format!("cannot write {}: {e}", target.display())))?;
    Ok(file)
}

fn section_name(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim())
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with(';')
}

/// `text` with the section `[name]` replaced by `body` (or appended). The blank lines and
/// comments just before the next section belong to that section and stay.
pub fn replace_section(text: &str, name: &str, body: &[(&str, String)]) -> String {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut section = format!("[{name}]{eol}");
    for (k, v) in body {
        section.push_str(&format!("{k} = {v}{eol}"));
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(start) = lines.iter().position(|l| section_name(l) == Some(name)) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        if !out.trim().is_empty() {
            out.push_str(eol);
        }
        out.push_str(&section);
        return out;
    };
    let next = lines[start + 1..]
        .iter()
        .position(|l| section_name(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);
    let mut end = next;
    while end > start + 1 && is_blank_or_comment(lines[end - 1]) {
        end -= 1;
    }
    let mut out: String = lines[..start].concat();
    out.push_str(&section);
    out.push_str(&lines[end..].concat());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Vec<(&'static str, String)> {
        vec![("aws_access_key_id", "NEW".to_string())]
    }

    #[test]
    fn replaces_only_the_section_and_keeps_the_comment_of_the_next() {
        let text = "# top\n[a]\nk = 1\n\n[x]\naws_access_key_id = OLD\n; note\nother = 2\n\n# about b\n[b]\nk = 3\n";
        assert_eq!(
            replace_section(text, "x", &body()),
            "# top\n[a]\nk = 1\n\n[x]\naws_access_key_id = NEW\n\n# about b\n[b]\nk = 3\n"
        );
    }

    #[test]
    fn appends_when_missing_and_keeps_crlf() {
        assert_eq!(
            replace_section("", "x", &body()),
            "[x]\naws_access_key_id = NEW\n"
        );
        assert_eq!(
            replace_section("[a]\r\nk = 1", "x", &body()),
            "[a]\r\nk = 1\r\n\r\n[x]\r\naws_access_key_id = NEW\r\n"
        );
    }

    #[test]
    fn last_section_and_names_that_only_look_alike() {
        let text = "[xx]\nk = 1\n[ x ]\nk = 2\n";
        assert_eq!(
            replace_section(text, "x", &body()),
            "[xx]\nk = 1\n[x]\naws_access_key_id = NEW\n"
        );
    }

    #[test]
    fn profile_names_are_checked() {
        assert!(check_profile_name("assumed").is_ok());
        assert!(check_profile_name("a]b").is_err());
        assert!(check_profile_name("").is_err());
    }
}
