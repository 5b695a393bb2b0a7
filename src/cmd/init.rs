//! `stsenv init <shell>`: the hook script from `shell/`, with the path of this binary quoted
//! for that shell (so a path with spaces or quotes still works), and the completion script.

use crate::cmd::Output;
use crate::error::Error;
use crate::session::SET_BY_ASSUME;
use crate::shell::Shell;

pub fn run(shell: Shell) -> Result<Output, Error> {
    let (Some(hook), Some(syntax)) = (shell.hook(), shell.syntax()) else {
        return Err(Error::Usage(format!(
            "`stsenv init` has no hook for {}",
            shell.name()
        )));
    };
    let exe = std::env::current_exe().map_err(|e| Error::OwnPath(e.to_string()))?;
    let exe = exe.to_str().ok_or_else(|| {
        Error::OwnPath(format!(
            "{} is not UTF-8; install stsenv elsewhere",
            exe.display()
        ))
    })?;
    let quoted_names: Vec<String> = SET_BY_ASSUME.iter().map(|n| syntax.quote(n)).collect();
    let completion = shell.completion(exe).unwrap_or_default();
    // The completion script goes in first: its own text must not be searched for the
    // placeholders below.
    let (head, tail) = hook.split_once("@COMPLETION@").unwrap_or((hook, ""));
    let fill = |part: &str| {
        part.replace("@STSENV@", &syntax.quote(exe))
            .replace("@VARS_PS@", &quoted_names.join(", "))
            .replace("@VARS@", &SET_BY_ASSUME.join(" "))
    };
    Ok(Output::Text(format!(
        "{}{}{}",
        fill(head),
        completion.trim(),
        fill(tail)
    )))
}
