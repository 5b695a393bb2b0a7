//! IAM Identity Center (SSO): which sign-in a profile uses, the token cache shared with the
//! AWS CLI v2, the two sign-in flows (authorization code with PKCE, device code) and the
//! portal. Knows nothing of roles or of how the user is asked.

pub mod cache;
pub mod code;
pub mod device;
pub mod flow;
pub mod generate;
pub mod oidc;
pub mod pkce;
pub mod portal;
pub mod prompt;

use aws_config::profile::ProfileSet;

use crate::error::Error;

/// The sign-in a profile (or an `[sso-session]`) describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    /// The `[sso-session NAME]`; None for a legacy profile with `sso_start_url` itself.
    pub session: Option<String>,
    pub start_url: String,
    pub region: String,
    /// `sso_registration_scopes`, when given.
    pub scopes: Option<Vec<String>>,
    /// `sso_use_device_code` where it is set, most specific first (the SSO profile, then its
    /// `[sso-session]`), each with the section that sets it, as written.
    pub use_device_code: Vec<(String, String)>,
}

/// How messages name a profile's section of the config file.
fn profile_section(name: &str) -> String {
    match name {
        "default" => "[default]".to_string(),
        _ => format!("[profile {name}]"),
    }
}

impl SsoConfig {
    /// How messages name it: "the SSO session 'corp'", or the start URL of a legacy profile.
    pub fn label(&self) -> String {
        match &self.session {
            Some(s) => format!("the SSO session '{s}'"),
            None => format!("the SSO sign-in to {}", self.start_url),
        }
    }

    /// The `[sso-session NAME]` section's settings.
    pub fn from_session(profiles: &ProfileSet, name: &str) -> Result<SsoConfig, Error> {
        let Some(s) = profiles.sso_session(name) else {
            let known: Vec<&str> = profiles.sso_sessions().collect();
            return Err(Error::Sso(format!(
                "there is no [sso-session {name}] in the AWS config{}",
                if known.is_empty() {
                    "; add one with sso_start_url and sso_region".to_string()
                } else {
                    format!(" (there is: {})", known.join(", "))
                }
            )));
        };
        let need = |k: &str| {
            s.get(k)
                .map(String::from)
                .ok_or_else(|| Error::Sso(format!("[sso-session {name}] has no {k}: add it")))
        };
        Ok(SsoConfig {
            session: Some(name.to_string()),
            start_url: need("sso_start_url")?,
            region: need("sso_region")?,
            scopes: s.get("sso_registration_scopes").map(parse_scopes),
            use_device_code: s
                .get("sso_use_device_code")
                .map(|v| (format!("[sso-session {name}]"), v.to_string()))
                .into_iter()
                .collect(),
        })
    }

    /// The sign-in of profile `name` itself (its `sso_session`, or legacy `sso_start_url` and
    /// `sso_region`); None when it has no SSO settings.
    pub fn from_profile(profiles: &ProfileSet, name: &str) -> Result<Option<SsoConfig>, Error> {
        let Some(p) = profiles.get_profile(name) else {
            return Ok(None);
        };
        let own = p
            .get("sso_use_device_code")
            .map(|v| (profile_section(name), v.to_string()));
        if let Some(session) = p.get("sso_session") {
            let mut cfg = SsoConfig::from_session(profiles, session)?;
            cfg.use_device_code.splice(0..0, own);
            return Ok(Some(cfg));
        }
        match (p.get("sso_start_url"), p.get("sso_region")) {
            (Some(url), Some(region)) => Ok(Some(SsoConfig {
                session: None,
                start_url: url.to_string(),
                region: region.to_string(),
                scopes: p.get("sso_registration_scopes").map(parse_scopes),
                use_device_code: own.into_iter().collect(),
            })),
            (Some(_), None) => Err(Error::ProfileValue {
                profile: name.to_string(),
                key: "sso_start_url",
                why: "is set but sso_region is not: add the region of your IAM Identity Center"
                    .into(),
            }),
            _ => Ok(None),
        }
    }
}

/// `sso_registration_scopes` as the AWS CLI splits it: by commas, trimmed, empties dropped.
fn parse_scopes(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
