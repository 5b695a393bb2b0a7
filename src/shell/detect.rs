//! Which shell runs stsenv: its parent process first, then `$SHELL`, else sh.

use super::Shell;

pub fn detect() -> Shell {
    parent_name()
        .and_then(|n| from_name(&n))
        .or_else(|| std::env::var("SHELL").ok().and_then(|s| from_name(&s)))
        .unwrap_or(Shell::Sh)
}

/// Maps a process name or path (`-bash`, `/usr/bin/zsh`, `pwsh.exe`) to a shell.
pub fn from_name(name: &str) -> Option<Shell> {
    let base = name.rsplit(['/', '\\']).next()?.trim();
    let base = base.trim_start_matches('-');
    let base = base.strip_suffix(".exe").unwrap_or(base);
    Some(match base {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "sh" | "dash" | "ash" | "ksh" | "mksh" | "busybox" => Shell::Sh,
        "pwsh" | "powershell" => Shell::Powershell,
        _ => return None,
    })
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
        assert_eq!(from_name("-bash\n"), Some(Shell::Bash));
        assert_eq!(from_name("/usr/bin/zsh"), Some(Shell::Zsh));
        assert_eq!(from_name("dash"), Some(Shell::Sh));
        assert_eq!(from_name("pwsh.exe"), Some(Shell::Powershell));
        assert_eq!(from_name("cargo"), None);
    }
}
