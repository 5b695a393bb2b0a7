//! The AWS console's sign-in federation: each partition's endpoint and console pages, and the
//! getSigninToken exchange that turns session credentials into a sign-in URL.

use crate::error::Error;
use crate::net::{self, Net};
use crate::session::Credentials;
use crate::verbose;

/// What the login URL names as its issuer.
pub const ISSUER: &str = "stsenv";

/// The AWS partitions that have a public console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    UsGov,
    China,
}

impl Partition {
    /// The partition of a role ARN (`arn:aws-us-gov:…`) when there is one, else of the region
    /// (`cn-…`, `us-gov-…`, else aws). One without a public console (aws-iso*, aws-eusc) is
    /// an error.
    pub fn of(arn: Option<&str>, region: Option<&str>) -> Result<Partition, Error> {
        let none = |what: String| {
            Error::Console(format!(
                "{what} has no public AWS console to sign in to; use the console your organisation provides for it"
            ))
        };
        if let Some(name) = arn.and_then(|a| a.split(':').nth(1)) {
            return match name {
                "aws" => Ok(Partition::Aws),
                "aws-us-gov" => Ok(Partition::UsGov),
                "aws-cn" => Ok(Partition::China),
                other => Err(none(format!("the partition {other}"))),
            };
        }
        let region = region.unwrap_or("");
        let second = region.split('-').nth(1).unwrap_or("");
        if region.starts_with("cn-") {
            Ok(Partition::China)
        } else if region.starts_with("us-gov-") {
            Ok(Partition::UsGov)
        } else if second.starts_with("iso") || region.starts_with("eusc-") {
            Err(none(format!("the partition of region {region}")))
        } else {
            Ok(Partition::Aws)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::UsGov => "aws-us-gov",
            Partition::China => "aws-cn",
        }
    }

    /// Where getSigninToken is asked and the login URL points.
    pub fn federation_url(self) -> &'static str {
        match self {
            Partition::Aws => "https://signin.aws.amazon.com/federation",
            Partition::UsGov => "https://signin.amazonaws-us-gov.com/federation",
            Partition::China => "https://signin.amazonaws.cn/federation",
        }
    }

    fn console_host(self) -> &'static str {
        match self {
            Partition::Aws => "console.aws.amazon.com",
            Partition::UsGov => "console.amazonaws-us-gov.com",
            Partition::China => "console.amazonaws.cn",
        }
    }

    /// The region the console opens in when none is given or configured; the bare console
    /// host serves it (the other regions have hosts of their own).
    pub fn default_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::UsGov => "us-gov-west-1",
            Partition::China => "cn-north-1",
        }
    }

    /// `https://[region.]console…`: the host of the console in `region`.
    fn console_origin(self, region: Option<&str>) -> String {
        match region.filter(|r| *r != self.default_region()) {
            Some(r) => format!("https://{r}.{}", self.console_host()),
            None => format!("https://{}", self.console_host()),
        }
    }
}

/// A console page `--service` knows: the name typed, its path, and whether the service is
/// global (one page for every region, no `?region=`).
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub path: &'static str,
    pub global: bool,
}

const fn page(name: &'static str, path: &'static str) -> Service {
    Service {
        name,
        path,
        global: false,
    }
}

const fn global(name: &'static str, path: &'static str) -> Service {
    Service {
        name,
        path,
        global: true,
    }
}

/// The services whose page is not simply `/<name>/home`, or that are global, or that are
/// asked for often enough to complete.
pub const SERVICES: &[Service] = &[
    page("acm", "acm"),
    page("apigateway", "apigateway"),
    page("athena", "athena"),
    global("billing", "billing"),
    page("cloudformation", "cloudformation"),
    page("cfn", "cloudformation"),
    global("cloudfront", "cloudfront/v4"),
    page("cloudtrail", "cloudtrail"),
    page("cloudwatch", "cloudwatch"),
    page("dynamodb", "dynamodbv2"),
    page("ec2", "ec2"),
    page("ecr", "ecr"),
    page("ecs", "ecs"),
    page("eks", "eks"),
    page("elasticache", "elasticache"),
    page("events", "events"),
    page("glue", "glue"),
    page("guardduty", "guardduty"),
    global("iam", "iam"),
    page("kinesis", "kinesis"),
    page("kms", "kms"),
    page("lambda", "lambda"),
    global("organizations", "organizations/v2"),
    page("rds", "rds"),
    global("route53", "route53/v2"),
    page("s3", "s3"),
    page("sagemaker", "sagemaker"),
    page("secretsmanager", "secretsmanager"),
    page("securityhub", "securityhub"),
    page("sns", "sns/v3"),
    page("sqs", "sqs"),
    page("ssm", "systems-manager"),
    page("sso", "singlesignon"),
    page("states", "states"),
    page("vpc", "vpcconsole"),
];

/// A `--service` value as it may go into a URL path: lower case letters, digits and `-`,
/// parts joined by `/` (`systems-manager/parameters`).
pub fn check_service(name: &str) -> Result<String, Error> {
    let lower = name.to_ascii_lowercase();
    let ok = lower.len() <= 100
        && lower.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok {
        Ok(lower)
    } else {
        Err(Error::bad(
            "service",
            name,
            "use a console service name like s3, ec2 or cloudformation (letters, digits, - and /)",
        ))
    }
}

/// The console home in `region`, or the home of `service` there (a service it doesn't know
/// opens `/<service>/home`):
/// `https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1`.
pub fn console_url(partition: Partition, region: &str, service: Option<&str>) -> String {
    let (path, global) = match service {
        None => ("console", false),
        Some(name) => SERVICES
            .iter()
            .find(|s| s.name == name)
            .map_or((name, false), |s| (s.path, s.global)),
    };
    if global {
        format!("{}/{path}/home", partition.console_origin(None))
    } else {
        format!(
            "{}/{path}/home?region={region}",
            partition.console_origin(Some(region))
        )
    }
}

/// `--destination`: an https URL as it is, or a path on the console in `region`.
pub fn destination(given: &str, partition: Partition, region: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::bad("destination", given, why);
    if given.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("a URL has no spaces or control characters"));
    }
    if given.len() > "https://".len() && given.starts_with("https://") {
        Ok(given.to_string())
    } else if given.starts_with('/') {
        Ok(format!("{}{given}", partition.console_origin(Some(region))))
    } else {
        Err(bad(
            "give an https:// URL of the console, or a path on it like /s3/buckets",
        ))
    }
}

/// The `Session` parameter of getSigninToken. It holds the secret key.
fn session_json(c: &Credentials) -> String {
    serde_json::json!({
        "sessionId": c.access_key_id,
        "sessionKey": c.secret_access_key,
        "sessionToken": c.session_token.as_deref().unwrap_or(""),
    })
    .to_string()
}

fn query_start(base: &str) -> char {
    if base.contains('?') {
        '&'
    } else {
        '?'
    }
}

/// The getSigninToken request. It carries the secret key: never shown, never logged.
pub fn token_request_url(
    federation: &str,
    creds: &Credentials,
    session_duration: Option<u32>,
) -> String {
    let mut url = format!(
        "{federation}{}Action=getSigninToken",
        query_start(federation)
    );
    if let Some(d) = session_duration {
        url.push_str(&format!("&SessionDuration={d}"));
    }
    url.push_str("&Session=");
    url.push_str(&encode(&session_json(creds)));
    url
}

/// The URL that signs a browser in for 15 minutes: a credential itself.
pub fn login_url(federation: &str, token: &str, destination: &str) -> String {
    format!(
        "{federation}{}Action=login&Issuer={ISSUER}&Destination={}&SigninToken={}",
        query_start(federation),
        encode(destination),
        encode(token)
    )
}

/// Trades session credentials for a sign-in token at `federation`. `who` names them in
/// messages; `session_duration` is sent only where the endpoint takes it (the caller knows).
pub async fn signin_token(
    net: &Net,
    federation: &str,
    creds: &Credentials,
    session_duration: Option<u32>,
    who: &str,
) -> Result<String, Error> {
    let site = net::site_of(federation);
    verbose::say(|| {
        let length = session_duration
            .map(|d| format!(", console session {d} s"))
            .unwrap_or_default();
        format!("getSigninToken at {site} for {who}{length}")
    });
    let url = token_request_url(federation, creds, session_duration);
    let (status, body) = net.get(&url).await?;
    if status == 200 {
        return read_token(&body).ok_or_else(|| {
            Error::Console(format!(
                "{site} answered the sign-in token request without a token; check that it is the AWS federation endpoint"
            ))
        });
    }
    if let Some(msg) = net.explain_status(status, federation) {
        return Err(Error::Network(msg));
    }
    Err(Error::Console(refused(
        status,
        &site,
        who,
        session_duration,
    )))
}

fn read_token(body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let token = doc.get("SigninToken")?.as_str()?;
    (!token.is_empty()).then(|| token.to_string())
}

/// What a refusal of getSigninToken means. The body is never quoted: an endpoint or a proxy
/// may echo the request, and with it the secret key.
pub fn refused(status: u16, site: &str, who: &str, session_duration: Option<u32>) -> String {
    match status {
        400 => {
            let length = session_duration
                .map(|d| format!(", or the role does not allow a console session of {d} s (ask for less with --duration)"))
                .unwrap_or_default();
            format!(
                "{site} refused to sign in {who} (HTTP 400 Bad Request): the credentials are expired, or of a kind the console does not take (an MFA session from GetSessionToken){length}; assume again, or open the console for a role"
            )
        }
        403 => format!(
            "{site} refused to sign in {who} (HTTP 403 Forbidden): the credentials are expired or no longer valid; assume again and retry"
        ),
        500..=599 => format!(
            "{site} failed with HTTP {status} (a server error) while signing in {who}: try again in a moment"
        ),
        _ => format!(
            "{site} answered HTTP {status} to the sign-in token request for {who}; check that it is the AWS federation endpoint"
        ),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: safe in any query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_from_arn_first_then_region() {
        let gov = "arn:aws-us-gov:iam::123456789012:role/r";
        assert_eq!(
            Partition::of(Some(gov), Some("us-east-1")).unwrap(),
            Partition::UsGov
        );
        assert_eq!(
            Partition::of(Some("arn:aws-cn:iam::123456789012:role/r"), None).unwrap(),
            Partition::China
        );
        assert_eq!(
            Partition::of(None, Some("cn-northwest-1")).unwrap(),
            Partition::China
        );
        assert_eq!(
            Partition::of(None, Some("us-gov-east-1")).unwrap(),
            Partition::UsGov
        );
        assert_eq!(
            Partition::of(None, Some("eu-west-1")).unwrap(),
            Partition::Aws
        );
        assert_eq!(Partition::of(None, None).unwrap(), Partition::Aws);
    }

    #[test]
    fn partitions_without_a_console_are_refused() {
        for (arn, region) in [
            (Some("arn:aws-iso:iam::123456789012:role/r"), None),
            (Some("arn:aws-iso-b:iam::123456789012:role/r"), None),
            (None, Some("us-iso-east-1")),
            (None, Some("us-isob-east-1")),
            (None, Some("eu-isoe-west-1")),
            (None, Some("eusc-de-east-1")),
        ] {
            let err = Partition::of(arn, region).unwrap_err().to_string();
            assert!(err.contains("no public AWS console"), "{err}");
        }
    }

    #[test]
    fn each_partition_has_its_endpoint_and_console_host() {
        let cases = [
            (
                Partition::Aws,
                "https://signin.aws.amazon.com/federation",
                "https://console.aws.amazon.com/console/home?region=us-east-1",
                "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
                "eu-west-1",
            ),
            (
                Partition::UsGov,
                "https://signin.amazonaws-us-gov.com/federation",
                "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
                "https://us-gov-east-1.console.amazonaws-us-gov.com/console/home?region=us-gov-east-1",
                "us-gov-east-1",
            ),
            (
                Partition::China,
                "https://signin.amazonaws.cn/federation",
                "https://console.amazonaws.cn/console/home?region=cn-north-1",
                "https://cn-northwest-1.console.amazonaws.cn/console/home?region=cn-northwest-1",
                "cn-northwest-1",
            ),
        ];
        for (p, federation, home, regional, region) in cases {
            assert_eq!(p.federation_url(), federation);
            assert_eq!(console_url(p, p.default_region(), None), home);
            assert_eq!(console_url(p, region, None), regional);
        }
    }

    #[test]
    fn services_open_their_page_in_the_region_and_global_ones_without() {
        let p = Partition::Aws;
        assert_eq!(
            console_url(p, "eu-west-1", Some("s3")),
            "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"
        );
        assert_eq!(
            console_url(p, "eu-central-1", Some("dynamodb")),
            "https://eu-central-1.console.aws.amazon.com/dynamodbv2/home?region=eu-central-1"
        );
        assert_eq!(
            console_url(p, "eu-west-1", Some("iam")),
            "https://console.aws.amazon.com/iam/home"
        );
        assert_eq!(
            console_url(Partition::China, "cn-northwest-1", Some("iam")),
            "https://console.amazonaws.cn/iam/home"
        );
        assert_eq!(
            console_url(p, "us-east-1", Some("cloudformation")),
            "https://console.aws.amazon.com/cloudformation/home?region=us-east-1"
        );
        // A name stsenv doesn't know still opens its page.
        assert_eq!(
            console_url(p, "ap-south-1", Some("bedrock")),
            "https://ap-south-1.console.aws.amazon.com/bedrock/home?region=ap-south-1"
        );
    }

    #[test]
    fn service_names_are_checked_for_the_path() {
        assert_eq!(check_service("S3").unwrap(), "s3");
        assert_eq!(
            check_service("systems-manager/parameters").unwrap(),
            "systems-manager/parameters"
        );
        for bad in ["", "s3?x=1", "../iam", "a//b", "/s3", "e c2", "s3#x"] {
            assert!(check_service(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn destination_is_an_https_url_or_a_console_path() {
        let p = Partition::Aws;
        assert_eq!(
            destination("https://example.com/x?a=b", p, "eu-west-1").unwrap(),
            "https://example.com/x?a=b"
        );
        assert_eq!(
            destination("/s3/buckets/b?region=eu-west-1", p, "eu-west-1").unwrap(),
            "https://eu-west-1.console.aws.amazon.com/s3/buckets/b?region=eu-west-1"
        );
        for bad in ["http://x", "s3", "https://", "https://a b", "/x\ny"] {
            assert!(destination(bad, p, "us-east-1").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_request_and_login_urls_encode_every_value() {
        let creds = Credentials {
            access_key_id: "ASIA1".into(),
            secret_access_key: "se/cr+et=".into(),
            session_token: Some("to&ken".into()),
            expires: None,
        };
        let url = token_request_url(
            "https://signin.aws.amazon.com/federation",
            &creds,
            Some(3600),
        );
        assert_eq!(
            url,
            "https://signin.aws.amazon.com/federation?Action=getSigninToken&SessionDuration=3600&Session=%7B%22sessionId%22%3A%22ASIA1%22%2C%22sessionKey%22%3A%22se%2Fcr%2Bet%3D%22%2C%22sessionToken%22%3A%22to%26ken%22%7D"
        );
        let login = login_url("http://127.0.0.1:9/f?x=1", "t+k/n", "https://c/?region=a&b");
        assert_eq!(
            login,
            "http://127.0.0.1:9/f?x=1&Action=login&Issuer=stsenv&Destination=https%3A%2F%2Fc%2F%3Fregion%3Da%26b&SigninToken=t%2Bk%2Fn"
        );
    }

    #[test]
    fn refusals_say_what_they_mean_without_the_request() {
        let site = "https://signin.aws.amazon.com";
        let m = refused(400, site, "prod", Some(7200));
        assert!(m.contains("HTTP 400") && m.contains("7200 s"), "{m}");
        assert!(!refused(400, site, "prod", None).contains("--duration"));
        assert!(refused(403, site, "prod", None).contains("expired"));
        assert!(refused(503, site, "prod", None).contains("try again"));
    }
}
