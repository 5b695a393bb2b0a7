//! Property test of every renderer: random strings built from the characters that break
//! quoting (all quote kinds, backslashes, `$`, backticks, `%`, `!`, control characters,
//! line breaks, non-ASCII) are rendered, evaluated by the real shell, and read back. Each
//! must come back byte for byte or be refused cleanly; nothing may execute.
//! Set STSENV_PROP_SEED to replay a failing seed.

use std::collections::BTreeMap;

use crate::common::shells::{self, Sh};
use crate::common::TestEnv;
use stsenv::shell::{Dialect, Shell};

const PIECES: &[&str] = &[
    "'",
    "\"",
    "`",
    "\\",
    "$",
    "$(",
    ")",
    "${",
    "}",
    "%",
    "!",
    "!!",
    ";",
    "&",
    "|",
    "<",
    ">",
    "*",
    "?",
    "[",
    "]",
    "~",
    "#",
    "=",
    " ",
    "\t",
    "\n",
    "\r",
    "\x01",
    "\x1b",
    "\x7f",
    "\u{2018}",
    "\u{2019}",
    "\u{201A}",
    "\u{201B}",
    "\u{201C}",
    "é",
    "日本",
    "🦀",
    "\u{a0}",
    "\u{f601}",
    "a",
    "Z",
    "0",
    "-",
    "+",
    "/",
    "touch pwned",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn value(&mut self) -> String {
        let len = self.below(12);
        (0..len).map(|_| PIECES[self.below(PIECES.len())]).collect()
    }
}

fn seed() -> u64 {
    std::env::var("STSENV_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

fn values(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut v: Vec<String> = (0..n).map(|_| rng.value()).collect();
    v.push(String::new());
    v.push("\\".into());
    v.push("'".into());
    v
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("STSENV_PROP_{i}")).collect()
}

fn change(values: &[String]) -> Vec<(&'static str, Option<String>)> {
    names(values.len())
        .into_iter()
        .zip(values)
        .map(|(n, v)| (&*Box::leak(n.into_boxed_str()), Some(v.clone())))
        .collect()
}

#[test]
fn random_values_round_trip_through_every_real_shell() {
    let seed = seed();
    let values = values(seed, 300);
    let env = TestEnv::new();
    for sh in shells::ALL {
        let shell = match sh {
            Sh::Bash => Shell::BASH,
            Sh::Zsh => Shell::ZSH,
            Sh::Dash => Shell::SH,
            Sh::Fish => Shell::FISH,
            Sh::Nu => Shell::NU,
        };
        let text = Dialect::from(shell)
            .render(&change(&values))
            .unwrap()
            .expect("renders");
        let script_path = env.write("rendered.txt", &text);
        let names = names(values.len());
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let apply = match sh {
            Sh::Fish => format!("source {}", script_path.display()),
            Sh::Nu => format!(
                "open --raw {} | from json | load-env",
                sh.word(&script_path.display().to_string())
            ),
            _ => format!(". {}", script_path.display()),
        };
        let out = sh.run(&env, &format!("{apply}; {}", sh.dump(&name_refs)), &[]);
        assert!(
            out.status.success(),
            "{sh:?} seed {seed}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = shells::parse(&out.stdout);
        for (name, value) in names.iter().zip(&values) {
            assert_eq!(
                got[name].as_deref(),
                Some(value.as_str()),
                "{sh:?} seed {seed} {name}"
            );
        }
        let pwned = env.home().join("pwned").exists();
        assert!(!pwned, "{sh:?} seed {seed}: a value was executed");
    }
}

#[test]
fn random_values_follow_powershell_quoting_rules() {
    let seed = seed();
    let values = values(seed, 2000);
    let text = Dialect::from(Shell::POWERSHELL)
        .render(&change(&values))
        .unwrap()
        .expect("renders");
    let mut got = BTreeMap::new();
    crate::common::pwsh::apply(&text, &mut got);
    for (name, value) in names(values.len()).iter().zip(&values) {
        assert_eq!(
            got[name].as_deref(),
            Some(value.as_str()),
            "seed {seed} {name}"
        );
    }
}

#[test]
fn dotenv_writes_verbatim_or_refuses() {
    let seed = seed();
    for value in values(seed, 2000) {
        let change = vec![("V", Some(value.clone()))];
        match Dialect::Dotenv.render(&change).unwrap() {
            Ok(text) => assert_eq!(text, format!("V={value}\n"), "seed {seed}"),
            Err(e) => {
                assert!(
                    value.contains(['\n', '\r']),
                    "seed {seed}: refused {value:?}: {e}"
                );
            }
        }
    }
}

#[test]
fn nul_is_refused_by_every_syntax() {
    let dialects = [
        Dialect::from(Shell::BASH),
        Dialect::from(Shell::FISH),
        Dialect::from(Shell::POWERSHELL),
        Dialect::from(Shell::NU),
        Dialect::Dotenv,
    ];
    for shell in dialects {
        let change = vec![("V", Some("a\0b".to_string()))];
        let err = shell.render(&change).unwrap().unwrap_err().to_string();
        assert!(err.contains("NUL"), "{err}");
    }
}
