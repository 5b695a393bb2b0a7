//! The process environment as stsenv reads it, taken once per run (or given as pairs, in unit
//! tests). It owns one rule: a variable set to the empty string counts as unset, as the AWS
//! CLI reads nearly all of them; the few places where "set but empty" means something of its
//! own ask for it by name. Knows nothing of what the variables mean.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

/// Names only: the values hold secrets (AWS_SECRET_ACCESS_KEY, proxy passwords).
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Env {
    /// This process's environment, now. A variable whose name or value is not UTF-8 is left
    /// out: no AWS setting is spelled that way.
    pub fn process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`; None when it is unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `get`, owned.
    pub fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(String::from)
    }

    /// Whether `name` is set to the empty string (`AWS_CONFIG_FILE=` makes the AWS CLI read
    /// no config file at all, which is not the same as leaving it unset).
    pub fn is_set_empty(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(String::is_empty)
    }

    /// Every variable as it is, empty ones included (proxies: an empty `https_proxy` removes
    /// an `HTTPS_PROXY`).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The same environment without `names`.
    pub fn without(&self, names: &[&str]) -> Env {
        let mut vars = self.vars.clone();
        for n in names {
            vars.remove(*n);
        }
        Env { vars }
    }

    pub fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }

    /// The name of this process's user, for the default session name: USER, LOGNAME or
    /// USERNAME, else the password database.
    pub fn user(&self) -> Option<String> {
        ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|k| self.var(k))
            .or_else(login_name)
    }
}

/// The account name of this process's user, from the password database.
fn login_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = vec![0 as libc::c_char; 4096];
        // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into buf, of
        // the length given, and sets result to null when there is no entry.
        unsafe {
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwuid_r(
                libc::geteuid(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            );
            if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
                return None;
            }
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_str()
                .ok()
                .filter(|n| !n.is_empty())
                .map(String::from)
        }
    }
    #[cfg(not(unix))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_unset_except_where_asked() {
        let env = Env::from_pairs([("A", "1"), ("E", "")]);
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("E"), None);
        assert_eq!(env.get("U"), None);
        assert!(env.is_set_empty("E") && !env.is_set_empty("U") && !env.is_set_empty("A"));
        assert_eq!(env.pairs().count(), 2);
        assert_eq!(env.without(&["A"]).get("A"), None);
        assert!(!format!("{env:?}").contains('1'));
    }
}
