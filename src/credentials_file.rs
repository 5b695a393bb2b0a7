//! `--write-profile NAME`: the credentials go into the shared credentials file as `[NAME]`.
//! Only that section changes; every other byte of the file (comments, order, other profiles,
//! line endings) stays as it was. Written atomically, 0600.

use std::path::PathBuf;

use crate::aws_files::credentials_path;
use crate::env::Env;
use crate::error::Error;
use crate::fsutil::edit_file;
use crate::ini;
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

/// The keys `--write-profile` owns in its section: all of them are replaced together, so no
/// token of an earlier session stays beside new keys. Every other line of the section stays.
const MANAGED_KEYS: [&str; 5] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "x_security_token_expires",
];

/// Why writing `[name]` would destroy something, if it would: the section holds long-term
/// keys, or is a profile that the credentials being written come from (`chain`).
pub fn refusal(text: &str, name: &str, chain: &[String]) -> Option<String> {
    let keys = section_keys(text, name);
    let has = |k: &str| keys.iter().any(|key| key == k);
    if has("aws_access_key_id") && !has("aws_session_token") && !has("aws_security_token") {
        return Some(format!(
            "[{name}] holds long-term keys (an access key without a session token), which would be lost"
        ));
    }
    if chain.iter().any(|p| p == name) {
        return Some(format!(
            "[{name}] is a profile of the chain being assumed, so the credentials it holds (or points to) would be replaced by the ones they produced"
        ));
    }
    None
}

/// Fails, before any request is made, where `write_profile` would refuse.
pub fn check_target(env: &Env, name: &str, chain: &[String]) -> Result<(), Error> {
    let file = credentials_path(env)?;
    let text = crate::fsutil::read_text(&file, 32 << 20)
        .ok()
        .flatten()
        .unwrap_or_default();
    match refusal(&text, name, chain) {
        Some(why) => Err(refused(&file, why)),
        None => Ok(()),
    }
}

fn refused(file: &std::path::Path, why: String) -> Error {
    Error::WriteRefused(format!(
        "not writing the credentials into {}: {why}; pass --force to replace it anyway, or pick another name",
        file.display()
    ))
}

/// Writes `[name]` and returns the file's path. Unless `force`, refuses to write over
/// long-term keys or over a profile of `chain` (the profiles the credentials came from).
pub fn write_profile(
    env: &Env,
    name: &str,
    creds: &Credentials,
    chain: &[String],
    force: bool,
) -> Result<PathBuf, Error> {
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
    // Refused before the file is touched; the edit below checks again as it renders.
    ini::render(name, &body, "\n")?;
    let file = credentials_path(env)?;
    edit_file(&file, Some(0o600), |old| {
        if let Some(why) = refusal(old, name, chain).filter(|_| !force) {
            return Err(refused(&file, why));
        }
        replace_section(old, name, &body).map(Some)
    })?;
    Ok(file)
}

/// The keys set in section `[name]`.
fn section_keys(text: &str, name: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    ini::sections(&lines)
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| {
            ini::keys(&lines[s.start + 1..s.end])
                .into_iter()
                .map(|(k, _)| k.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `text` with the credentials of section `[name]` replaced by `body` (or the section
/// appended). Its other keys and comments stay, after the new keys; the blank lines and
/// comments just before the next section belong to that section and stay too.
pub fn replace_section(text: &str, name: &str, body: &[(&str, String)]) -> Result<String, Error> {
    let eol = ini::eol(text);
    let section = ini::render(name, body, eol)?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(found) = ini::sections(&lines).into_iter().find(|s| s.name == name) else {
        return Ok(ini::append(text, &section));
    };
    let mut out: String = lines[..found.start].concat();
    out.push_str(&section);
    // A continuation line belongs to the key above it: it goes when that key goes.
    let mut dropping = false;
    for line in &lines[found.start + 1..found.end] {
        if !ini::is_continuation(line) {
            dropping = ini::key_of(line).is_some_and(|k| MANAGED_KEYS.contains(&k));
        }
        if !dropping {
            out.push_str(line);
        }
    }
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(&lines[found.end..].concat());
    Ok(out)
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
            replace_section(text, "x", &body()).unwrap(),
            "# top\n[a]\nk = 1\n\n[x]\naws_access_key_id = NEW\n; note\nother = 2\n\n# about b\n[b]\nk = 3\n"
        );
    }

    #[test]
    fn appends_when_missing_and_keeps_crlf() {
        assert_eq!(
            replace_section("", "x", &body()).unwrap(),
            "[x]\naws_access_key_id = NEW\n"
        );
        assert_eq!(
            replace_section("[a]\r\nk = 1", "x", &body()).unwrap(),
            "[a]\r\nk = 1\r\n\r\n[x]\r\naws_access_key_id = NEW\r\n"
        );
    }

    #[test]
    fn last_section_and_names_that_only_look_alike() {
        let text = "[xx]\nk = 1\n[ x ]\nk = 2\n";
        assert_eq!(
            replace_section(text, "x", &body()).unwrap(),
            "[xx]\nk = 1\n[x]\naws_access_key_id = NEW\nk = 2\n"
        );
    }

    #[test]
    fn every_credential_key_is_replaced_and_the_others_kept() {
        let text = "[x]\nregion = eu-west-1\naws_session_token = OLD\n  continued\naws_security_token = OLD\nx_security_token_expires = 2020-01-01T00:00:00Z\noutput = json\n";
        assert_eq!(
            replace_section(text, "x", &body()).unwrap(),
            "[x]\naws_access_key_id = NEW\nregion = eu-west-1\noutput = json\n"
        );
    }

    #[test]
    fn long_term_keys_and_the_chain_are_refused() {
        let text = "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n[old]\naws_access_key_id = ASIA\naws_session_token = t\n";
        assert!(refusal(text, "default", &[])
            .unwrap()
            .contains("long-term keys"));
        assert_eq!(refusal(text, "old", &[]), None);
        assert!(refusal(text, "old", &["old".into()])
            .unwrap()
            .contains("chain"));
        assert_eq!(refusal(text, "new", &[]), None);
    }

    #[test]
    fn profile_names_are_checked() {
        assert!(check_profile_name("assumed").is_ok());
        assert!(check_profile_name("a]b").is_err());
        assert!(check_profile_name("").is_err());
    }
}
