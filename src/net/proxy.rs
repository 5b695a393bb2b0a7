//! Which proxy a request goes through, by the AWS CLI's rules (botocore takes them from
//! Python's urllib): HTTPS_PROXY for https URLs, HTTP_PROXY for http ones, the lower-case
//! names winning over the upper-case ones, NO_PROXY's host names, domain suffixes and `*`.
//! ALL_PROXY is a fallback when the scheme's own variable is not set (the CLI ignores it; curl
//! and most tools don't). Knows nothing of how requests are made.

use crate::env::Env;
use crate::error::Error;

/// A proxy, as the user gave it and as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `scheme://[user:password@]host:port`, what the connector is given.
    pub url: String,
    /// The same with the password written `***`: the only form that may be printed.
    pub shown: String,
}

#[derive(Debug, Clone, Default)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Option<String>,
}

/// Where containers serve credentials: botocore never sends these through a proxy.
const CONTAINER_HOSTS: [&str; 3] = ["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"];

impl Proxies {
    /// The proxies the environment names. A proxy URL that can't be used is an error that
    /// names the variable, before any request.
    pub fn from_env(env: &Env) -> Result<Proxies, Error> {
        // urllib's two passes: every `*_proxy` variable of any case with a value, then the
        // lower-case ones again, which win, an empty one removing the setting.
        let mut found: std::collections::HashMap<String, (String, String)> = Default::default();
        for lower_only in [false, true] {
            for (name, value) in env.pairs() {
                let lower = name.to_ascii_lowercase();
                let Some(scheme) = lower.strip_suffix("_proxy") else {
                    continue;
                };
                if lower_only && *name != lower {
                    continue;
                }
                if value.is_empty() {
                    if lower_only {
                        found.remove(scheme);
                    }
                    continue;
                }
                found.insert(scheme.to_string(), (name.to_string(), value.to_string()));
            }
        }
        // As urllib does under CGI, where HTTP_PROXY may come from a request header.
        if env.pairs().any(|(n, _)| n == "REQUEST_METHOD") {
            if let Some((name, _)) = found.get("http") {
                if name == "HTTP_PROXY" {
                    found.remove("http");
                }
            }
        }
        let parse = |scheme: &str| -> Result<Option<Proxy>, Error> {
            match found.get(scheme).or_else(|| found.get("all")) {
                Some((name, value)) => parse(name, value).map(Some),
                None => Ok(None),
            }
        };
        Ok(Proxies {
            http: parse("http")?,
            https: parse("https")?,
            no_proxy: found.get("no").map(|(_, v)| v.clone()),
        })
    }

    /// The proxy for `url`, or None to go directly.
    pub fn for_url(&self, url: &str) -> Option<&Proxy> {
        let (scheme, rest) = url.split_once("://")?;
        let netloc = rest.split(['/', '?', '#']).next()?;
        let netloc = netloc.rsplit('@').next()?.to_ascii_lowercase();
        let host = host_of(&netloc);
        if CONTAINER_HOSTS.contains(&host) || self.bypass(&netloc) {
            return None;
        }
        match scheme {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }
    }

    /// urllib's `proxy_bypass_environment`: `*` alone bypasses everything; each entry
    /// matches the host (with or without the URL's port) or a domain it ends with.
    fn bypass(&self, netloc: &str) -> bool {
        let Some(list) = &self.no_proxy else {
            return false;
        };
        if list.trim() == "*" {
            return true;
        }
        let host = host_of(netloc);
        list.split(',')
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .any(|e| {
                let suffix = format!(".{e}");
                host == e || netloc == e || host.ends_with(&suffix) || netloc.ends_with(&suffix)
            })
    }

    /// Every proxy in use, as it may be shown, for --verbose.
    pub fn describe(&self) -> String {
        let show = |p: &Option<Proxy>| p.as_ref().map_or("none".to_string(), |p| p.shown.clone());
        format!(
            "https via {}, http via {}",
            show(&self.https),
            show(&self.http)
        )
    }
}

/// The host of a `host[:port]` (or `[v6]:port`).
fn host_of(netloc: &str) -> &str {
    if netloc.starts_with('[') {
        return netloc.split_inclusive(']').next().unwrap_or(netloc);
    }
    netloc.split(':').next().unwrap_or(netloc)
}

/// A proxy URL as botocore mends it (`proxy:3128` and `//proxy:3128` mean http), checked as
/// strictly as botocore checks it: a URL stsenv can't use exactly as written is an error that
/// names the variable, never a reason to go direct. The value itself is never quoted in the
/// message: it may hold a password.
fn parse(var: &str, value: &str) -> Result<Proxy, Error> {
    let bad = |why: &str| {
        Error::Proxy(format!(
            "{var} is not a proxy URL I can use ({why}); write it as http://[user:password@]host:port, with special characters in the user or password percent-encoded"
        ))
    };
    let url = if value.starts_with("http:") || value.starts_with("https:") {
        value.to_string()
    } else if let Some(rest) = value.strip_prefix("//") {
        format!("http://{rest}")
    } else if value.contains("://") {
        return Err(bad("only http:// and https:// proxies are supported"));
    } else {
        format!("http://{value}")
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // `user:pa/ss@host`: the `/` ended the authority inside the password.
    if tail.contains('@') {
        return Err(bad(
            "the user or password holds an unencoded /, ? or #: write it as %2F, %3F or %23",
        ));
    }
    if !matches!(tail, "" | "/") {
        return Err(bad("a proxy URL has no path, query or fragment"));
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some(u) = userinfo {
        userinfo_ok(u).map_err(|why| bad(&why))?;
    }
    host_port_ok(hostport).map_err(|why| bad(&why))?;
    // Proxy-Authorization only with both a user and a password, as the AWS CLI sends it.
    let (url, shown) = match userinfo.and_then(|u| u.split_once(':')) {
        Some((user, pass)) if !user.is_empty() && !pass.is_empty() => (
            format!("{scheme}://{user}:{pass}@{hostport}"),
            format!("{scheme}://{user}:***@{hostport}"),
        ),
        _ => (
            format!("{scheme}://{hostport}"),
            format!("{scheme}://{hostport}"),
        ),
    };
    // The connector's own parser must take it too: what it refuses would otherwise be sent
    // around the proxy.
    aws_smithy_http_client::proxy::ProxyConfig::all(url.as_str())
        .map_err(|_| bad("the HTTP client can't parse it"))?;
    Ok(Proxy { url, shown })
}

/// RFC 3986's userinfo: unreserved, sub-delims, `:` and `%XX`; anything else (a space, `"`,
/// `<`, `^`, `|`, …) is refused rather than guessed at.
fn userinfo_ok(u: &str) -> Result<(), String> {
    let bytes = u.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return Err("a % in the user or password is not followed by two hex digits".into());
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&b)) {
            return Err(
                "the user or password holds a character that must be percent-encoded".into(),
            );
        }
        i += 1;
    }
    Ok(())
}

/// `host[:port]`, a host name, an IPv4 address or a bracketed IPv6 address, and a port of
/// 1 to 65535.
fn host_port_ok(hostport: &str) -> Result<(), String> {
    let (host_ok, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err("its [IPv6 address] is not closed".into());
        };
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after the [IPv6 address]")?),
        };
        (addr.parse::<std::net::Ipv6Addr>().is_ok(), port)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        let ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        (ok, port)
    };
    if hostport.is_empty() {
        return Err("no host".into());
    }
    if !host_ok {
        return Err("its host is not a host name or IP address".into());
    }
    if let Some(p) = port {
        if !p.parse::<u16>().is_ok_and(|n| n > 0) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err("its port is not a number from 1 to 65535".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        Proxies::from_env(&env(vars)).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_pairs(vars.iter().copied())
    }

    fn via(p: &Proxies, url: &str) -> Option<String> {
        p.for_url(url).map(|p| p.shown.clone())
    }

    #[test]
    fn scheme_case_and_all_proxy() {
        let p = proxies(&[
            ("HTTPS_PROXY", "big:1"),
            ("https_proxy", "small:2"),
            ("HTTP_PROXY", "h:3"),
        ]);
        assert_eq!(
            via(&p, "https://sts.amazonaws.com").as_deref(),
            Some("http://small:2")
        );
        assert_eq!(
            via(&p, "http://127.0.0.1:9/x").as_deref(),
            Some("http://h:3")
        );
        let p = proxies(&[("HTTPS_PROXY", "big:1"), ("https_proxy", "")]);
        assert_eq!(
            via(&p, "https://a.b"),
            None,
            "an empty lower-case one removes it"
        );
        let p = proxies(&[("ALL_PROXY", "all:4")]);
        assert_eq!(via(&p, "https://a.b").as_deref(), Some("http://all:4"));
        assert_eq!(via(&p, "http://a.b").as_deref(), Some("http://all:4"));
        let p = proxies(&[("HTTP_PROXY", "h:3"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(via(&p, "http://a.b"), None, "CGI");
    }

    #[test]
    fn no_proxy_like_urllib() {
        let p = proxies(&[
            ("https_proxy", "p:1"),
            (
                "no_proxy",
                " .corp.example , 10.1.2.3,localhost:8443,EXACT.host",
            ),
        ]);
        for direct in [
            "https://corp.example",
            "https://sts.corp.example/x",
            "https://10.1.2.3",
            "https://localhost:8443",
            "https://exact.host",
            "https://169.254.170.2/creds",
        ] {
            assert_eq!(via(&p, direct), None, "{direct}");
        }
        for proxied in [
            "https://xcorp.example",
            "https://10.1.2.30",
            "https://localhost",
            "https://sts.amazonaws.com",
        ] {
            assert!(via(&p, proxied).is_some(), "{proxied}");
        }
        let p = proxies(&[("https_proxy", "p:1"), ("NO_PROXY", "*")]);
        assert_eq!(via(&p, "https://anything"), None);
        let p = proxies(&[("https_proxy", "p:1"), ("NO_PROXY", "a,*")]);
        assert!(via(&p, "https://anything").is_some(), "* only alone");
    }

    #[test]
    fn passwords_are_masked_and_bad_urls_named() {
        let p = proxies(&[("HTTPS_PROXY", "http://al%40ice:s3cret@proxy:3128")]);
        let proxy = p.for_url("https://x").unwrap();
        assert_eq!(proxy.url, "http://al%40ice:s3cret@proxy:3128");
        assert_eq!(proxy.shown, "http://al%40ice:***@proxy:3128");
        let p = proxies(&[("HTTPS_PROXY", "http://onlyuser@proxy:3128")]);
        assert_eq!(p.for_url("https://x").unwrap().url, "http://proxy:3128");
        let err = Proxies::from_env(&env(&[("HTTPS_PROXY", "socks5://p:1")])).unwrap_err();
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    }

    /// Security round 3, G5: a proxy URL that can't be used exactly as written is an error
    /// naming the variable, with no part of the password in it; never a direct request.
    #[test]
    fn malformed_proxy_urls_are_errors_that_never_show_the_password() {
        for value in [
            "http://alice:pa ss-SECRETPW@proxy:3128",
            "http://alice:pa\"ss-SECRETPW@proxy:3128",
            "http://alice:pa<ss-SECRETPW@proxy:3128",
            "http://alice:pa^ss-SECRETPW@proxy:3128",
            "http://alice:pa|ss-SECRETPW@proxy:3128",
            "http://alice:pa/ss-SECRETPW@proxy:3128",
            "http://alice:pa%zzss-SECRETPW@proxy:3128",
            "http://[::1:3128",
            "http://[nothex]:3128",
            "http://proxy:99999",
            "http://proxy:31x8",
            "http://pro xy:3128",
            "http://proxy:3128/path",
        ] {
            let err = Proxies::from_env(&env(&[("HTTPS_PROXY", value)]))
                .expect_err(value)
                .to_string();
            assert!(err.contains("HTTPS_PROXY"), "{value}: {err}");
            assert!(
                !err.contains("SECRETPW") && !err.contains("alice"),
                "{value}: {err}"
            );
        }
        for good in [
            "http://al%20ice:p%2Fss!$&'()*+,;=@proxy.corp:3128",
            "http://[::1]:3128",
            "http://10.0.0.1:8080/",
            "proxy.corp:3128",
        ] {
            assert!(
                Proxies::from_env(&env(&[("HTTPS_PROXY", good)])).is_ok(),
                "{good}"
            );
        }
    }
}
