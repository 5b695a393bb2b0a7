//! Running stsenv's output through the real shells and reading the variables back, byte for
//! byte, NUL-separated.

use std::collections::BTreeMap;
use std::process::Output;

use super::TestEnv;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sh {
    Bash,
    Zsh,
    Dash,
    Fish,
    Nu,
}

pub const ALL: [Sh; 5] = [Sh::Bash, Sh::Zsh, Sh::Dash, Sh::Fish, Sh::Nu];

/// The nushell release the tests are written against: what scripts/test.sh installs.
pub const NU_VERSION: &str = "0.115.1";
const NU_INSTALL: &str = "`npm install --prefix .tools/nu nushell@0.115.1`, \
with .tools/nu/node_modules/@nushell/linux-x64/bin on PATH";

/// Every variable stsenv may touch, read back after each eval: what it sets, and what it
/// unsets.
pub fn vars() -> Vec<&'static str> {
    let mut v = stsenv::session::SET_BY_ASSUME.to_vec();
    v.extend(stsenv::session::ALWAYS_UNSET);
    v
}

pub type Vars = BTreeMap<String, Option<String>>;

impl Sh {
    pub fn program(self) -> &'static str {
        match self {
            Sh::Bash => "bash",
            Sh::Zsh => "zsh",
            Sh::Dash => "dash",
            Sh::Fish => "fish",
            Sh::Nu => "nu",
        }
    }

    /// The `--shell` value that fits this shell.
    pub fn flag(self) -> &'static str {
        match self {
            Sh::Bash => "bash",
            Sh::Zsh => "zsh",
            Sh::Dash => "sh",
            Sh::Fish => "fish",
            Sh::Nu => "nu",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Sh::Bash => &["--norc", "--noprofile", "-c"],
            Sh::Zsh => &["-f", "-c"],
            Sh::Dash => &["-c"],
            Sh::Fish => &["--no-config", "-c"],
            Sh::Nu => &["--no-config-file", "-c"],
        }
    }

    pub fn require(self) {
        let install = match self {
            Sh::Fish => "apt-get install fish",
            Sh::Zsh => "apt-get install zsh",
            Sh::Dash => "apt-get install dash",
            Sh::Bash => "apt-get install bash",
            Sh::Nu => NU_INSTALL,
        };
        super::require(self.program(), install);
        if self == Sh::Nu {
            require_nu_version();
        }
    }

    /// Quotes one word for this shell's command line (test input, not stsenv's output).
    pub fn word(self, s: &str) -> String {
        match self {
            Sh::Fish => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            // A raw string with more `#` than any run of them in `s`: nothing inside is special.
            Sh::Nu => {
                let longest = s.split(|c| c != '#').map(str::len).max().unwrap_or(0);
                let hashes = "#".repeat(longest + 1);
                format!("r{hashes}'{s}'{hashes}")
            }
            _ => format!("'{}'", s.replace('\'', "'\\''")),
        }
    }

    /// A script fragment that prints `NAME=value\0` for each set variable, `NAME!\0` for each
    /// unset one.
    pub fn dump(self, names: &[&str]) -> String {
        let list = names.join(" ");
        match self {
            Sh::Nu => format!("{} | print --no-newline", nu_dump_value(names)),
            Sh::Fish => format!(
                "for v in {list}; if set -q $v; printf '%s=%s\\0' $v \"$$v\"; else; printf '%s!\\0' $v; end; end"
            ),
            _ => format!(
                "for v in {list}; do if eval \"[ -n \\\"\\${{$v+x}}\\\" ]\"; then eval \"printf '%s=%s\\\\0' \\\"\\$v\\\" \\\"\\${{$v}}\\\"\"; else printf '%s!\\0' \"$v\"; fi; done"
            ),
        }
    }

    /// A script fragment that writes the dump to `$HOME/file`.
    pub fn dump_to(self, names: &[&str], file: &str) -> String {
        match self {
            Sh::Nu => format!(
                "{} | save -f ($env.HOME | path join {file})",
                nu_dump_value(names)
            ),
            _ => format!("{} > \"$HOME/{file}\"", self.dump(names)),
        }
    }

    /// `script` run in this shell with `env`'s environment, STSENV set to the binary.
    pub fn run(self, env: &TestEnv, script: &str, extra_env: &[(&str, &str)]) -> Output {
        self.require();
        let mut c = env.command(self.program());
        c.env("STSENV", super::BIN);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        let out = c.args(self.args()).arg(script).output().expect("run shell");
        super::assert_no_secrets(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// The way a user applies `stsenv assume ARGS` in this shell; stsenv's own detection
    /// picks the syntax unless ARGS has --shell. Exits 3 when the eval fails.
    pub fn apply(self, args: &[&str]) -> String {
        self.apply_command("assume", args)
    }

    /// `apply` for another subcommand whose output is statements (assume-root, refresh).
    pub fn apply_command(self, command: &str, args: &[&str]) -> String {
        let words: Vec<String> = args.iter().map(|a| self.word(a)).collect();
        let words = words.join(" ");
        match self {
            Sh::Fish => format!(
                "\"$STSENV\" {command} {words} | source; or begin; echo EVAL-FAILED; exit 3; end"
            ),
            Sh::Nu => format!(
                "try {{ ^$env.STSENV {command} {words} | from json | load-env }} catch {{ print EVAL-FAILED; exit 3 }}"
            ),
            _ => format!(
                "eval \"$(\"$STSENV\" {command} {words})\" || {{ echo EVAL-FAILED; exit 3; }}"
            ),
        }
    }

    /// `apply`, then a dump of every variable stsenv touches.
    pub fn assume_script(self, args: &[&str]) -> String {
        format!("{}; {}", self.apply(args), self.dump(&vars()))
    }
}

/// The dump as a nu value (a string). A null (what `load-env` leaves for a removed variable,
/// and what no child process sees) counts as unset.
fn nu_dump_value(names: &[&str]) -> String {
    format!(
        "[{}] | each {{|v| let x = ($env | get --optional $v); if $x == null {{ $\"($v)!\\u{{0}}\" }} else {{ $\"($v)=($x)\\u{{0}}\" }} }} | str join",
        names.join(" ")
    )
}

/// Fails unless the `nu` on PATH is NU_VERSION (asked once).
fn require_nu_version() {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let version = VERSION.get_or_init(|| {
        let out = std::process::Command::new("nu")
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("nu does not run ({e}): {NU_INSTALL}"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    });
    assert_eq!(
        version, NU_VERSION,
        "nu on PATH is {version:?}, not {NU_VERSION}: {NU_INSTALL}"
    );
}

/// `stsenv init nu`, run from the binary `stsenv`, saved in HOME, and the line that loads it:
/// nu sources only a file, named when the line is parsed.
pub fn nu_init(env: &TestEnv, stsenv: &str) -> String {
    let out = env.command(stsenv).args(["init", "nu"]).output().unwrap();
    assert!(out.status.success(), "{}", super::stderr(&out));
    let path = env.write("stsenv-init.nu", &super::stdout(&out));
    format!("source {}", Sh::Nu.word(path.to_str().unwrap()))
}

/// Parses a dump; panics on anything else in stdout.
pub fn parse(stdout: &[u8]) -> Vars {
    let text = String::from_utf8(stdout.to_vec()).expect("utf-8 dump");
    let mut vars = Vars::new();
    let mut parts: Vec<&str> = text.split('\0').collect();
    assert_eq!(parts.pop(), Some(""), "dump must end with NUL: {text:?}");
    for p in parts {
        if let Some(name) = p.strip_suffix('!').filter(|n| !n.contains('=')) {
            vars.insert(name.to_string(), None);
        } else {
            let (name, value) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("bad dump entry {p:?}"));
            vars.insert(name.to_string(), Some(value.to_string()));
        }
    }
    vars
}

/// Runs `stsenv assume ARGS` in the shell and returns the variables it left.
pub fn assume_in(env: &TestEnv, sh: Sh, args: &[&str], extra_env: &[(&str, &str)]) -> Vars {
    let out = sh.run(env, &sh.assume_script(args), extra_env);
    assert!(
        out.status.success(),
        "{}: eval failed ({}): stderr {}",
        sh.program(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&out.stdout)
}

pub fn get(vars: &Vars, name: &str) -> Option<String> {
    vars.get(name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} missing from dump"))
}

/// The three credential variables, as read back from `sh`.
pub fn assert_credentials(vars: &Vars, sh: Sh, akid: &str, secret: &str, token: Option<&str>) {
    assert_eq!(
        get(vars, "AWS_ACCESS_KEY_ID").as_deref(),
        Some(akid),
        "{sh:?}"
    );
    assert_eq!(
        get(vars, "AWS_SECRET_ACCESS_KEY").as_deref(),
        Some(secret),
        "{sh:?}"
    );
    assert_eq!(get(vars, "AWS_SESSION_TOKEN").as_deref(), token, "{sh:?}");
}
