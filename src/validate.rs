//! Local checks of every value the user passes, so a typo fails at once with a message that
//! names it, before any request is made.

use std::time::Duration;

use crate::error::Error;

pub const MIN_DURATION: u32 = 900;
pub const MAX_DURATION: u32 = 43_200;

/// `[\w+=,.@-]`, the character class IAM uses for names and session names.
fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn check_len_and_chars(
    what: &'static str,
    value: &str,
    min: usize,
    max: usize,
    ok: impl Fn(char) -> bool,
    allowed: &str,
) -> Result<(), Error> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(Error::bad(
            what,
            value,
            format!("must be {min} to {max} characters long"),
        ));
    }
    if let Some(c) = value.chars().find(|c| !ok(*c)) {
        return Err(Error::bad(
            what,
            value,
            format!(
                "'{}' is not allowed; use only {allowed}",
                c.escape_default()
            ),
        ));
    }
    Ok(())
}

/// An AWS account id: exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A long-term access key id, as IAM makes them: 16 to 128 letters and digits (`AKIA…`).
/// A temporary one (`ASIA…`) is refused: it is useless without its session token, and soon
/// expired. The message never shows the value: a secret pasted in the wrong place must not
/// reach the terminal.
pub fn access_key_id(s: &str) -> Result<(), Error> {
    let shape = (16..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shape {
        return Err(Error::Keys(
            "that is not an access key id: an IAM user's key id is 16 to 128 letters and digits, like AKIAIOSFODNN7EXAMPLE".into(),
        ));
    }
    if s.starts_with("ASIA") {
        return Err(Error::Keys(format!(
            "{s} is a temporary access key (ASIA…), which works only with its session token, until it expires; give an IAM user's long-term key (AKIA…)"
        )));
    }
    Ok(())
}

/// A secret access key: 1 to 128 characters, none of them blank or a control character.
/// The message never shows it.
pub fn secret_access_key(s: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&s.chars().count())
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Keys(
            "the secret access key must be 1 to 128 characters without spaces or control characters (an AWS secret is 40)".into(),
        ))
    }
}

/// An IAM role name: `[\w+=,.@-]{1,64}`.
pub fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(iam_name_char)
}

pub fn account_id(s: &str) -> Result<(), Error> {
    if is_account_id(s) {
        Ok(())
    } else {
        Err(Error::bad(
            "account",
            s,
            "an AWS account id is 12 digits, like 111122223333",
        ))
    }
}

/// The partition of a region, as ARNs name it.
pub fn partition_of_region(region: &str) -> &'static str {
    let prefix = |p: &str| region.starts_with(p);
    if prefix("cn-") {
        "aws-cn"
    } else if prefix("us-gov-") {
        "aws-us-gov"
    } else if prefix("us-isob-") {
        "aws-iso-b"
    } else if prefix("us-isof-") {
        "aws-iso-f"
    } else if prefix("eu-isoe-") {
        "aws-iso-e"
    } else if prefix("us-iso-") {
        "aws-iso"
    } else if prefix("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// `--task` of assume-root: a task's short name (its policy ARN in `partition`), or a
/// root-task policy ARN itself (any partition, any task AWS adds later).
pub fn root_task(task: &str, partition: &str) -> Result<String, Error> {
    if crate::sts::ROOT_TASKS.contains(&task) {
        return Ok(format!("arn:{partition}:iam::aws:policy/root-task/{task}"));
    }
    let mut parts = task.splitn(6, ':');
    let arn_ok = matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("arn"), Some(p), Some("iam"), Some(""), Some("aws"), Some(res))
            if (p == "aws" || p.starts_with("aws-"))
                && res.strip_prefix("policy/root-task/").is_some_and(is_role_name)
    );
    if arn_ok {
        return Ok(task.to_string());
    }
    Err(Error::bad(
        "root task",
        task,
        format!(
            "use one of {}, or a policy ARN arn:aws:iam::aws:policy/root-task/<name>",
            crate::sts::ROOT_TASKS.join(", ")
        ),
    ))
}

/// A root session's duration: AssumeRoot grants at most 900 s (15 minutes).
pub fn root_duration(s: &str) -> Result<u32, Error> {
    let secs = parse_duration("duration", s)?;
    if !(1..=u64::from(crate::sts::MAX_ROOT_SECS)).contains(&secs) {
        return Err(Error::bad(
            "duration",
            s,
            format!("{secs} s is outside what AssumeRoot allows: at most 900 s (15m)"),
        ));
    }
    Ok(secs as u32)
}

pub fn is_role_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let partition_ok = partition == "aws"
        || partition.strip_prefix("aws-").is_some_and(|p| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        });
    let account_ok = is_account_id(account);
    let Some(path) = resource.strip_prefix("role/") else {
        return false;
    };
    let mut segments: Vec<&str> = path.split('/').collect();
    let name = segments.pop().unwrap_or_default();
    let name_ok = !name.is_empty() && name.len() <= 64 && name.chars().all(iam_name_char);
    let path_ok = segments
        .iter()
        .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != '/'));
    partition_ok && account_ok && name_ok && path_ok
}

pub fn role_arn(s: &str) -> Result<(), Error> {
    if is_role_arn(s) {
        Ok(())
    } else {
        Err(Error::BadRoleArn(s.to_string()))
    }
}

/// Seconds, or a sum of `<n>h`, `<n>m`, `<n>s` parts (`1h30m`).
pub fn parse_duration(what: &'static str, s: &str) -> Result<u64, Error> {
    let bad = || {
        Error::bad(
            what,
            s,
            "use seconds (3600) or a duration like 15m, 1h, 1h30m",
        )
    };
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || s.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

pub fn duration(s: &str) -> Result<u32, Error> {
    let secs = parse_duration("duration", s)?;
    if !(MIN_DURATION as u64..=MAX_DURATION as u64).contains(&secs) {
        return Err(Error::bad(
            "duration",
            s,
            format!("{secs} s is outside what STS allows, 900 s (15m) to 43200 s (12h)"),
        ));
    }
    Ok(secs as u32)
}

/// A duration for a role (up to 12 h) or an MFA session (up to 36 h): which one is known
/// only once the target is resolved.
pub fn session_duration(s: &str) -> Result<u32, Error> {
    let secs = parse_duration("duration", s)?;
    if !(MIN_DURATION as u64..=129_600).contains(&secs) {
        return Err(Error::bad(
            "duration",
            s,
            format!("{secs} s is outside what STS allows, 900 s (15m) to 43200 s (12h) for a role, 129600 s (36h) for an MFA session"),
        ));
    }
    Ok(secs as u32)
}

/// GetSessionToken's range for IAM users: 15 minutes to 36 hours.
pub fn mfa_session_duration(s: &str) -> Result<u32, Error> {
    let secs = parse_duration("MFA session duration", s)?;
    if !(900..=129_600).contains(&secs) {
        return Err(Error::bad(
            "MFA session duration",
            s,
            format!("{secs} s is outside what STS allows, 900 s (15m) to 129600 s (36h)"),
        ));
    }
    Ok(secs as u32)
}

pub fn timeout(s: &str) -> Result<Duration, Error> {
    match parse_duration("timeout", s)? {
        0 => Err(Error::bad("timeout", s, "must be at least 1 second")),
        secs => Ok(Duration::from_secs(secs)),
    }
}

pub fn session_name(s: &str) -> Result<(), Error> {
    check_len_and_chars(
        "session name",
        s,
        2,
        64,
        iam_name_char,
        "letters, digits and _+=,.@-",
    )
}

/// `stsenv-<user>`, with anything STS would reject replaced, cut to 64 characters.
pub fn default_session_name(user: Option<&str>) -> String {
    let user = user.filter(|u| !u.is_empty()).unwrap_or("user");
    let name: String = format!("stsenv-{user}")
        .chars()
        .map(|c| if iam_name_char(c) { c } else { '-' })
        .take(64)
        .collect();
    name
}

pub fn external_id(s: &str) -> Result<(), Error> {
    check_len_and_chars(
        "external ID",
        s,
        2,
        1224,
        |c| iam_name_char(c) || c == ':' || c == '/',
        "letters, digits and _+=,.@:/-",
    )
}

pub fn source_identity(s: &str) -> Result<(), Error> {
    check_len_and_chars(
        "source identity",
        s,
        2,
        64,
        iam_name_char,
        "letters, digits and _+=,.@-",
    )
}

pub fn mfa_serial(s: &str) -> Result<(), Error> {
    check_len_and_chars(
        "MFA serial",
        s,
        9,
        256,
        |c| iam_name_char(c) || c == ':' || c == '/',
        "an MFA device ARN like arn:aws:iam::123456789012:mfa/alice",
    )
}

pub fn token_code(s: &str) -> Result<(), Error> {
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::bad(
            "MFA token code",
            s,
            "must be the 6 digits your MFA device shows",
        ))
    }
}

pub fn region(s: &str) -> Result<(), Error> {
    check_len_and_chars(
        "region",
        s,
        1,
        64,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "lowercase letters, digits and -, as in eu-west-1",
    )
}

pub fn endpoint_url(s: &str) -> Result<(), Error> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(Error::bad(
            "endpoint URL",
            s,
            "must start with https:// or http:// and name a host",
        )),
    }
}

pub fn policy_arn(s: &str) -> Result<(), Error> {
    let ok = s.starts_with("arn:") && s.split(':').nth(2) == Some("iam") && s.contains(":policy/");
    if ok {
        Ok(())
    } else {
        Err(Error::bad(
            "policy ARN",
            s,
            "expected arn:aws:iam::<account or aws>:policy/<name>",
        ))
    }
}

/// `KEY=VALUE`, with STS's limits on session tags.
pub fn tag(s: &str) -> Result<(String, String), Error> {
    let Some((key, value)) = s.split_once('=') else {
        return Err(Error::bad("tag", s, "write it as KEY=VALUE"));
    };
    let ok = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    let allowed = "letters, digits, spaces and _.:/=+-@";
    check_len_and_chars("tag key", key, 1, 128, ok, allowed)?;
    check_len_and_chars("tag value", value, 0, 256, ok, allowed)?;
    Ok((key.to_string(), value.to_string()))
}

pub fn tags(list: &[String]) -> Result<Vec<(String, String)>, Error> {
    if list.len() > 50 {
        return Err(Error::bad(
            "tags",
            &format!("{} tags", list.len()),
            "STS accepts at most 50",
        ));
    }
    let tags = list.iter().map(|t| tag(t)).collect::<Result<Vec<_>, _>>()?;
    for (i, (key, _)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(Error::bad(
                "tag",
                key,
                "the same key is given twice (keys are case-insensitive)",
            ));
        }
    }
    Ok(tags)
}

/// The policy text itself, from the argument or from `@file`, checked to be a JSON object.
pub fn policy(arg: &str) -> Result<String, Error> {
    let text = match arg.strip_prefix('@') {
        Some(path) => {
            let missing = || std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
            crate::fsutil::read_text(std::path::Path::new(path), 1 << 20)
                .and_then(|t| t.ok_or_else(missing))
                .map_err(|why| Error::PolicyFile {
                    path: path.into(),
                    why,
                })?
        }
        None => arg.to_string(),
    };
    let shown = match arg.strip_prefix('@') {
        Some(path) => format!("in {path}"),
        None => text.chars().take(40).collect::<String>(),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        Ok(_) => Err(Error::bad(
            "session policy",
            &shown,
            "must be a JSON object like {\"Version\":\"2012-10-17\",\"Statement\":[…]}",
        )),
        Err(e) => Err(Error::bad(
            "session policy",
            &shown,
            format!("not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_in_every_partition() {
        for ok in [
            "arn:aws:iam::123456789012:role/deploy",
            "arn:aws-cn:iam::123456789012:role/a/b/deploy",
            "arn:aws-us-gov:iam::123456789012:role/x+=,.@-_",
        ] {
            assert!(is_role_arn(ok), "{ok}");
        }
        for bad in [
            "arn:aws:iam::12345678901:role/deploy",
            "arn:aws:iam::123456789012:user/deploy",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:sts::123456789012:role/deploy",
            "arn:aws:iam::123456789012:role/de ploy",
            "arn:gcp:iam::123456789012:role/deploy",
            "arn:aws:iam::123456789012:role//deploy",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("900").unwrap(), 900);
        assert_eq!(duration("15m").unwrap(), 900);
        assert_eq!(duration("1h").unwrap(), 3600);
        assert_eq!(duration("1h30m").unwrap(), 5400);
        assert_eq!(duration("12h").unwrap(), 43200);
        for bad in [
            "899",
            "13h",
            "1x",
            "",
            "h",
            "10m",
            "-5",
            "99999999999999999999h",
        ] {
            let err = duration(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn default_session_name_is_sanitized_and_short() {
        assert_eq!(
            default_session_name(Some("alice smith")),
            "stsenv-alice-smith"
        );
        assert_eq!(default_session_name(None), "stsenv-user");
        assert_eq!(default_session_name(Some(&"x".repeat(100))).len(), 64);
        session_name(&default_session_name(Some("é!"))).unwrap();
    }

    #[test]
    fn tags_and_policies() {
        assert_eq!(tag("team=a b").unwrap(), ("team".into(), "a b".into()));
        assert!(tag("noequals").is_err());
        assert!(tag("k=v;rm").is_err());
        assert!(tags(&["A=1".into(), "a=2".into()]).is_err());
        assert!(policy("{\"Version\":\"2012-10-17\"}").is_ok());
        assert!(policy("[1]").is_err());
        assert!(policy("{oops")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }

    #[test]
    fn token_codes_are_six_digits() {
        assert!(token_code("123456").is_ok());
        assert!(token_code("12345").is_err());
        assert!(token_code("12345a").is_err());
    }
}
