//! Which sign-in a person gets: the authorization code with PKCE through the browser, or the
//! device code where a loopback redirect can't work, or where they asked for it; and the one
//! line that says why. Decides only: the flows are `code` and `device`.

use super::SsoConfig;
use crate::env::Env;

/// How a sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Authorization code with PKCE, the browser coming back to 127.0.0.1: the default.
    Code,
    /// The device code, and why.
    Device(Why),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A profile with `sso_start_url` itself and no `[sso-session]`: the AWS CLI signs these in
    /// with the device code only.
    Legacy,
    /// `--use-device-code`.
    Flag,
    /// `sso_use_device_code = true` in this section (`[sso-session corp]`, `[profile x]`).
    Config(String),
    /// SSH_CONNECTION or SSH_TTY is set.
    Ssh,
    /// Outside macOS and Windows, neither DISPLAY nor WAYLAND_DISPLAY.
    NoDisplay,
}

impl Why {
    /// The line said before the device flow starts.
    pub fn line(&self) -> String {
        let why = match self {
            Why::Legacy => "the profile sets sso_start_url itself, without an [sso-session], and the AWS CLI signs such profiles in with a device code only".to_string(),
            Why::Flag => "as --use-device-code asks".to_string(),
            Why::Config(section) => format!("as sso_use_device_code = true in {section} asks"),
            Why::Ssh => "this is an SSH session, where a browser can't come back to this machine (sso_use_device_code = false signs in through the browser anyway)".to_string(),
            Why::NoDisplay => "there is no display here (DISPLAY and WAYLAND_DISPLAY are unset) for a browser to come back from (sso_use_device_code = false signs in through the browser anyway)".to_string(),
        };
        format!("signing in with a device code: {why}")
    }
}

/// The flow for `cfg`, in this order: a legacy profile gets the device code (as in the AWS
/// CLI); then `--use-device-code`; then the first `sso_use_device_code` that is `true` or
/// `false` (the SSO profile's before its session's; `false` means the browser even over SSH
/// or without a display, since the person said so; any other value counts as unset, as the
/// AWS CLI's proposal reads it); then an SSH session; then no display; else the code flow.
pub fn choose(cfg: &SsoConfig, env: &Env, use_device_code: bool) -> Flow {
    choose_on(
        cfg,
        env,
        use_device_code,
        cfg!(any(target_os = "macos", windows)),
    )
}

/// `choose`, with whether this is a desktop that needs no DISPLAY (macOS, Windows) given.
fn choose_on(cfg: &SsoConfig, env: &Env, use_device_code: bool, desktop: bool) -> Flow {
    if cfg.session.is_none() {
        return Flow::Device(Why::Legacy);
    }
    if use_device_code {
        return Flow::Device(Why::Flag);
    }
    for (section, value) in &cfg.use_device_code {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" => return Flow::Device(Why::Config(section.clone())),
            "false" => return Flow::Code,
            _ => {}
        }
    }
    if env.get("SSH_CONNECTION").is_some() || env.get("SSH_TTY").is_some() {
        return Flow::Device(Why::Ssh);
    }
    if !desktop && env.get("DISPLAY").is_none() && env.get("WAYLAND_DISPLAY").is_none() {
        return Flow::Device(Why::NoDisplay);
    }
    Flow::Code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(session: bool, settings: &[(&str, &str)]) -> SsoConfig {
        SsoConfig {
            session: session.then(|| "corp".to_string()),
            start_url: "https://d-123.awsapps.com/start".into(),
            region: "us-east-1".into(),
            scopes: None,
            use_device_code: settings
                .iter()
                .map(|(s, v)| (s.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn flow(c: &SsoConfig, env: &[(&str, &str)], flag: bool, desktop: bool) -> Flow {
        choose_on(c, &Env::from_pairs(env.iter().copied()), flag, desktop)
    }

    #[test]
    fn every_path_to_the_device_code() {
        let display = [("DISPLAY", ":0")];
        let plain = cfg(true, &[]);
        assert_eq!(flow(&plain, &display, false, false), Flow::Code);
        assert_eq!(
            flow(&plain, &[], false, true),
            Flow::Code,
            "macOS needs no DISPLAY"
        );
        assert_eq!(
            flow(&plain, &[("WAYLAND_DISPLAY", "wayland-0")], false, false),
            Flow::Code
        );
        assert_eq!(
            flow(
                &cfg(false, &[("[profile x]", "false")]),
                &display,
                false,
                false
            ),
            Flow::Device(Why::Legacy),
            "a legacy profile has only the device code"
        );
        assert_eq!(
            flow(
                &cfg(true, &[("[sso-session corp]", "false")]),
                &display,
                true,
                false
            ),
            Flow::Device(Why::Flag),
            "the flag beats the config"
        );
        let session_true = cfg(true, &[("[sso-session corp]", "TRUE")]);
        assert_eq!(
            flow(&session_true, &display, false, false),
            Flow::Device(Why::Config("[sso-session corp]".into()))
        );
        let profile_false = cfg(
            true,
            &[("[profile dev]", "false"), ("[sso-session corp]", "true")],
        );
        assert_eq!(
            flow(&profile_false, &[("SSH_TTY", "/dev/pts/1")], false, false),
            Flow::Code,
            "an explicit false wins over the session's key and over the guesses"
        );
        assert_eq!(
            flow(
                &plain,
                &[
                    ("DISPLAY", ":0"),
                    ("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 51000")
                ],
                false,
                false
            ),
            Flow::Device(Why::Ssh)
        );
        assert_eq!(
            flow(&plain, &[("SSH_TTY", "/dev/pts/3")], false, true),
            Flow::Device(Why::Ssh)
        );
        assert_eq!(
            flow(&plain, &[("DISPLAY", "")], false, false),
            Flow::Device(Why::NoDisplay)
        );
        let odd = cfg(
            true,
            &[("[profile dev]", "yes"), ("[sso-session corp]", "True")],
        );
        assert_eq!(
            flow(&odd, &display, false, false),
            Flow::Device(Why::Config("[sso-session corp]".into())),
            "a value other than true or false counts as unset"
        );
        for why in [
            Why::Legacy,
            Why::Flag,
            Why::Config("[sso-session corp]".into()),
            Why::Ssh,
            Why::NoDisplay,
        ] {
            assert!(why.line().starts_with("signing in with a device code: "));
            assert!(!why.line().contains('\n'));
        }
    }
}
