//! sh, bash and zsh share one export syntax; only their hooks (and completions) differ.

use clap_complete::env::{Bash, Zsh};

use super::{Def, Syntax};

pub struct Posix;

pub static BASH: Def = Def {
    name: "bash",
    aliases: &[],
    processes: &["bash"],
    syntax: Some(&Posix),
    hook: Some(include_str!("../../shell/hook.bash")),
    completer: Some(&Bash),
};

pub static ZSH: Def = Def {
    name: "zsh",
    aliases: &[],
    processes: &["zsh"],
    syntax: Some(&Posix),
    hook: Some(include_str!("../../shell/hook.zsh")),
    completer: Some(&Zsh),
};

/// Any POSIX shell: statements only; clap_complete has no generator for plain sh.
pub static SH: Def = Def {
    name: "sh",
    aliases: &[],
    processes: &["sh", "dash", "ash", "ksh", "mksh", "busybox"],
    syntax: Some(&Posix),
    hook: None,
    completer: None,
};

impl Syntax for Posix {
    fn quote(&self, value: &str) -> String {
        quote(value)
    }

    fn set(&self, name: &str, value: &str) -> Result<String, &'static str> {
        Ok(format!("export {name}={}", quote(value)))
    }

    fn unset(&self, name: &str) -> Option<String> {
        Some(format!("unset {name}"))
    }

    // One chain: a statement that fails (a readonly variable) stops the rest and fails the
    // whole eval, in bash as in zsh and sh. The `&&` at the end of each line also keeps
    // `eval $(stsenv …)` working unquoted, where the shell joins all lines into one.
    fn separator(&self) -> &'static str {
        " &&\n"
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

/// `value` bare when it is a plain word (letters, digits, `_./:=@,+-`), else as `quote`
/// writes it: for text that people read, such as a command line.
pub fn quote_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@,+-".contains(c));
    if plain {
        value.to_string()
    } else {
        quote(value)
    }
}

/// The words of `text` as `quote` writes them, joined by spaces: `'a'\\''b' 'c'` gives
/// `a'b` and `c`. Bare words are taken as they are. None when a quote is left open.
pub fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Some(words);
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_ascii_whitespace()) {
            match c {
                '\'' => loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                },
                '\\' => word.push(chars.next()?),
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_undoes_quote() {
        let words = ["a'b", "", "x y", "--", "-v", "$(id)", "é\n"];
        let text: Vec<String> = words.iter().map(|w| quote(w)).collect();
        assert_eq!(split_words(&text.join(" ")).unwrap(), words);
        assert_eq!(split_words("bare 'q' \\'").unwrap(), ["bare", "q", "'"]);
        assert_eq!(split_words("'open"), None);
    }

    #[test]
    fn quotes_single_quote_the_posix_way() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("AKIA/x+y=="), "'AKIA/x+y=='");
        assert_eq!(quote("=-"), "'=-'");
        assert_eq!(quote("$(id)"), "'$(id)'");
    }
}
