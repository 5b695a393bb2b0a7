//! Which proxy a request goes through, by the AWS CLI's rules (botocore takes them from
//! Python's urllib): HTTPS_PROXY for https URLs, HTTP_PROXY for http ones, the lower-case
//! names winning over the upper-case ones, NO_PROXY's host names, domain suffixes and `*`.
//! ALL_PROXY is a fallback when the scheme's own variable is not set (the CLI ignores it; curl
//! and most tools don't). Knows nothing of how requests are made.

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
    pub fn from_env(vars: &[(String, String)]) -> Result<Proxies, Error> {
        // urllib's two passes: every `*_proxy` variable of any case with a value, then the
        // lower-case ones again, which win, an empty one removing the setting.
        let mut found: std::collections::HashMap<String, (String, String)> = Default::default();
        for lower_only in [false, true] {
            for (name, value) in vars {
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
                found.insert(scheme.to_string(), (name.clone(), value.clone()));
            }
        }
        // As urllib does under CGI, where HTTP_PROXY may come from a request header.
        if vars.iter().any(|(n, _)| n == "REQUEST_METHOD") {
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

/// A proxy URL as botocore mends it (`proxy:3128` and `//proxy:3128` mean http), checked.
fn parse(var: &str, value: &str) -> Result<Proxy, Error> {
    let bad = |why: &str| {
        Error::Proxy(format!(
        "{var} is not a proxy URL I can use ({why}); write it as http://[user:password@]host:port"
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
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() || hostport.contains(char::is_whitespace) {
        return Err(bad("no host"));
    }
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
    Ok(Proxy { url, shown })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::from_env(&vars).unwrap()
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
        let err = Proxies::from_env(&[("HTTPS_PROXY".into(), "socks5://p:1".into())]).unwrap_err();
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    }
}
