//! PowerShell can't be installed here, so its output is checked by a parser of exactly the
//! rules PowerShell's tokenizer applies to verbatim strings: any of ' ‘ ’ ‚ ‛ opens or closes
//! one, and two of them in a row inside stand for the second. Every line must be one of the
//! two statement shapes stsenv emits; anything else fails the test.

use std::collections::BTreeMap;

const QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// Applies the statements to `env` (None = removed); panics on anything unexpected.
pub fn apply(script: &str, env: &mut BTreeMap<String, Option<String>>) {
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\n' || chars[i] == '\r' {
            i += 1;
            continue;
        }
        let rest: String = chars[i..].iter().collect();
        if let Some(r) = rest.strip_prefix("Remove-Item Env:") {
            let name: String = r
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let tail = " -ErrorAction SilentlyContinue";
            assert!(
                r[name.len()..].starts_with(tail),
                "unexpected statement: {rest:?}"
            );
            env.insert(name.clone(), None);
            i += "Remove-Item Env:".len() + name.len() + tail.len();
        } else if let Some(r) = rest.strip_prefix("$Env:") {
            let name: String = r
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                r[name.len()..].starts_with(" = "),
                "unexpected statement: {rest:?}"
            );
            i += "$Env:".chars().count() + name.chars().count() + 3;
            assert!(
                QUOTES.contains(&chars[i]),
                "value is not a verbatim string: {rest:?}"
            );
            i += 1;
            let mut value = String::new();
            loop {
                let c = *chars
                    .get(i)
                    .unwrap_or_else(|| panic!("unterminated string in {rest:?}"));
                if QUOTES.contains(&c) {
                    if chars.get(i + 1).is_some_and(|n| QUOTES.contains(n)) {
                        value.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                value.push(c);
                i += 1;
            }
            env.insert(name, Some(value));
        } else {
            panic!("unexpected PowerShell statement: {rest:?}");
        }
        assert!(
            i == chars.len() || chars[i] == '\n',
            "trailing text after a statement: {:?}",
            chars[i..].iter().take(40).collect::<String>()
        );
    }
}

/// Parses one verbatim string at the start of `s`; returns its value and the rest of `s`.
pub fn verbatim(s: &str) -> (String, &str) {
    let mut chars = s.char_indices().peekable();
    let (_, first) = chars.next().expect("a string");
    assert!(QUOTES.contains(&first), "not a verbatim string: {s:?}");
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if QUOTES.contains(&c) {
            match chars.peek() {
                Some((_, n)) if QUOTES.contains(n) => {
                    value.push(*n);
                    chars.next();
                }
                _ => return (value, &s[i + c.len_utf8()..]),
            }
        } else {
            value.push(c);
        }
    }
    panic!("unterminated string: {s:?}");
}
