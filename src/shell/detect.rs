//! Which shell runs stsenv: its parent process first, then `$SHELL`, else sh; by the process
//! names each shell registers in the table.

use super::Shell;

pub fn detect() -> Shell {
    parent_name()
        .and_then(|n| from_name(&n))
        .or_else(|| std::env::var("SHELL").ok().and_then(|s| from_name(&s)))
        .unwrap_or(Shell::SH)
}

/// Maps a process name or path (`-bash`, `/usr/bin/zsh`, `pwsh.exe`) to a shell that stsenv
/// can write statements for.
pub fn from_name(name: &str) -> Option<Shell> {
    let base = name.rsplit(['/', '\\']).next()?.trim();
    let base = base.trim_start_matches('-');
    let base = base.strip_suffix(".exe").unwrap_or(base);
    Shell::all().find(|s| s.syntax().is_some() && s.def().processes.contains(&base))
}

#[cfg(target_os = "linux")]
fn parent_name() -> Option<String> {
    let ppid = std::os::unix::process::parent_id();
    std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn parent_name() -> Option<String> {
    let ppid = std::os::unix::process::parent_id();
    let out = std::process::Command::new("ps")
        .args(["-o", "comm=", "-p", &ppid.to_string()])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()
}

#[cfg(not(unix))]
fn parent_name() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_shells() {
        assert_eq!(from_name("-bash\n"), Some(Shell::BASH));
        assert_eq!(from_name("/usr/bin/zsh"), Some(Shell::ZSH));
        assert_eq!(from_name("dash"), Some(Shell::SH));
        assert_eq!(from_name("pwsh.exe"), Some(Shell::POWERSHELL));
        assert_eq!(from_name("nu\n"), Some(Shell::NU));
        assert_eq!(from_name("/home/u/.cargo/bin/nu"), Some(Shell::NU));
        assert_eq!(from_name("elvish"), None, "completion only");
        assert_eq!(from_name("cargo"), None);
    }
}
