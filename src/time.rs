//! Timestamps: RFC 3339 out, and every expiration format the AWS CLI and SDKs write in. The
//! formatting and parsing are aws-smithy-types' `DateTime`; only the odd forms of the AWS
//! CLI's cache (`… UTC`, a space for `T`, no zone) are mended here first.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-11-23T13:14:15Z`: UTC, whole seconds, the form every AWS SDK accepts. A time beyond
/// what RFC 3339 can write (years 1 to 9999) is written as the nearest one it can.
pub fn rfc3339(unix_secs: i64) -> String {
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    DateTime::from_secs(unix_secs.clamp(MIN, MAX))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// Parses `2026-11-23T13:14:15Z`, `…+00:00`, `…-05:00`, `….431060Z`, `2026-11-23 13:14:15 UTC`
/// and a bare `…T13:14:15` (taken as UTC). Fractions of a second are dropped.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 19 || !s.is_char_boundary(19) {
        return None;
    }
    let (stamp, zone) = s.split_at(19);
    let (fraction, zone) = match zone.strip_prefix('.') {
        Some(rest) => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest.split_at(digits)
        }
        None => ("", zone),
    };
    let zone = match zone.trim() {
        "" | "Z" | "z" | "UTC" | "GMT" => "Z".to_string(),
        // `+0100` as botocore's tzlocal writes it, `+01:00` as RFC 3339 wants it.
        z if z.len() == 5 && z.bytes().skip(1).all(|b| b.is_ascii_digit()) => {
            format!("{}:{}", &z[..3], &z[3..])
        }
        z => z.to_string(),
    };
    let stamp = stamp.replacen(' ', "T", 1);
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    let text = format!("{stamp}{fraction}{zone}");
    DateTime::from_str(&text, DateTimeFormat::DateTimeWithOffset)
        .ok()
        .map(|t| t.secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn parses_every_format_the_cli_writes() {
        let t = 1_800_000_000;
        for s in [
            "2027-01-15T08:00:00Z",
            "2027-01-15T08:00:00+00:00",
            "2027-01-15T08:00:00.431060Z",
            "2027-01-15T08:00:00.431060+00:00",
            "2027-01-15 08:00:00 UTC",
            "2027-01-15T08:00:00UTC",
            "2027-01-15T08:00:00",
            "2027-01-15T09:30:00+01:30",
            "2027-01-15T03:00:00-05:00",
            "2027-01-15T09:00:00+0100",
        ] {
            assert_eq!(parse(s), Some(t), "{s}");
        }
        for bad in [
            "",
            "yesterday",
            "2027-01-15",
            "2027-13-15T08:00:00Z",
            "2027-01-15T08:00:00 PST",
            "2027-01-15T08:00:00.Z",
            "2027-01-15T08:0é:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for t in [0, 1, 86_399, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse(&rfc3339(t)), Some(t));
        }
    }
}
