//! sh, bash and zsh share one export syntax; only their hooks differ.

use super::Syntax;

pub struct Posix;

impl Syntax for Posix {
    fn quote(&self, value: &str) -> String {
        quote(value)
    }

    // The trailing `;` keeps `eval $(stsenv …)` working unquoted, where the shell joins all
    // lines into one.
    fn set(&self, name: &str, value: &str) -> Result<String, &'static str> {
        Ok(format!("export {name}={};", quote(value)))
    }

    fn unset(&self, name: &str) -> Option<String> {
        Some(format!("unset {name};"))
    }

    fn fail(&self) -> Option<&'static str> {
        Some("false")
    }

    fn apply_hint(&self, cmdline: &str) -> Option<String> {
        Some(format!(
            "to apply this to your shell, run: eval \"$({cmdline})\""
        ))
    }
}

/// Always single quotes, with `'` written as `'\''`: valid in every POSIX shell, bash and
/// zsh, and nothing inside is expanded. Never a bare word (zsh expands a leading `=` in
/// `X==cmd`, which the shell-escape crate leaves bare), and never `$'…'`, which dash prints
/// literally.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_single_quote_the_posix_way() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("AKIA/x+y=="), "'AKIA/x+y=='");
        assert_eq!(quote("=-"), "'=-'");
        assert_eq!(quote("$(id)"), "'$(id)'");
    }
}
