//! `stsenv init` hooks in real shells (interactive ones through tmux), `exec`, `clear`,
//! `whoami`, `--write-profile` and `credential_process`.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use crate::common::fake_sts::FakeSts;
use crate::common::shells::{self, get, Sh};
use crate::common::tty::Tmux;
use crate::common::*;

fn env_for(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = eu-west-1\n",
        role_arn("deploy")
    ));
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

const HOOK_SHELLS: [Sh; 3] = [Sh::Bash, Sh::Zsh, Sh::Fish];

fn init_line(sh: Sh, stsenv: &str) -> String {
    match sh {
        Sh::Fish => format!("{} init fish | source", sh.word(stsenv)),
        _ => format!("eval \"$({} init {})\"", sh.word(stsenv), sh.program()),
    }
}

fn dump_to(sh: Sh, file: &str) -> String {
    sh.dump_to(&shells::vars(), file)
}

fn read_dump(env: &TestEnv, file: &str) -> shells::Vars {
    shells::parse(&std::fs::read(env.home().join(file)).unwrap_or_else(|e| panic!("{file}: {e}")))
}

#[test]
fn init_scripts_pass_their_shells_syntax_checks_and_shellcheck() {
    let env = TestEnv::new();
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
    ] {
        require(check[0], &format!("apt-get install {}", check[0]));
        let script = env.write(
            &format!("init.{shell}"),
            &stdout(&env.stsenv(&["init", shell])),
        );
        let out = env
            .command(check[0])
            .args(&check[1..])
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
    }
    require("shellcheck", "apt-get install shellcheck");
    let script = env.home().join("init.bash");
    // SC2207 and SC2181 are in the part clap_complete generates (its registration function).
    let out = env
        .command("shellcheck")
        .args(["-s", "bash", "-e", "SC2207,SC2181"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "shellcheck: {}", stdout(&out));
}

#[test]
fn assume_and_unassume_in_every_shell_and_a_failure_changes_nothing() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for sh in HOOK_SHELLS {
        let (strict, fail_check) = match sh {
            Sh::Fish => ("", "assume nosuch-profile 2>/dev/null; echo $status > \"$HOME/rc\""),
            _ => ("set -u; ", "if assume nosuch-profile 2>/dev/null; then echo BAD; fi; assume nosuch-profile 2>/dev/null; echo $? > \"$HOME/rc\" || true"),
        };
        let script = format!(
            "{strict}{init}; {init}; assume deploy --no-cache; {d1}; {fail_check}; {d2}; unassume; {d3}",
            init = init_line(sh, BIN),
            d1 = dump_to(sh, "after-assume"),
            d2 = dump_to(sh, "after-failure"),
            d3 = dump_to(sh, "after-unassume"),
        );
        // The failed call under set -u must not end the shell, so run it as a plain script
        // for fish and with `|| true` guards elsewhere.
        let script = script.replace(
            "assume nosuch-profile 2>/dev/null; echo $?",
            "assume nosuch-profile 2>/dev/null || echo $?",
        );
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        assert!(
            !stdout(&out).contains("BAD"),
            "{sh:?}: a failed assume returned 0"
        );
        let a = read_dump(&env, "after-assume");
        assert!(
            get(&a, "AWS_ACCESS_KEY_ID")
                .unwrap()
                .starts_with("AssumeRole"),
            "{sh:?}"
        );
        assert_eq!(get(&a, "STSENV_PROFILE").as_deref(), Some("deploy"));
        assert_eq!(get(&a, "AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(
            read_dump(&env, "after-failure"),
            a,
            "{sh:?}: a failed assume changed the environment"
        );
        let rc = std::fs::read_to_string(env.home().join("rc")).unwrap();
        assert_ne!(rc.trim(), "0", "{sh:?}");
        let c = read_dump(&env, "after-unassume");
        for name in stsenv::session::SET_BY_ASSUME {
            assert_eq!(get(&c, name), None, "{sh:?}: unassume left {name}");
        }
    }
}

#[test]
fn assume_returns_failure_under_set_e() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for sh in [Sh::Bash, Sh::Zsh] {
        let script = format!(
            "set -eu; {}; assume nosuch-profile 2>/dev/null; echo CONTINUED",
            init_line(sh, BIN)
        );
        let out = sh.run(&env, &script, &[]);
        assert!(
            !out.status.success() && !stdout(&out).contains("CONTINUED"),
            "{sh:?}"
        );
    }
}

#[test]
fn the_prompt_segment_needs_no_process_in_bash_and_zsh() {
    let sts = FakeSts::numbered(42 * 60 + 30);
    let env = env_for(&sts);
    for sh in HOOK_SHELLS {
        let empty_path = if sh == Sh::Fish { "" } else { "PATH=; " };
        let script = format!(
            "{init}; printf '[%s]' \"$(stsenv_prompt)\"; assume deploy; {empty_path}printf '[%s]' \"$(stsenv_prompt)\"; STSENV_EXPIRES=1; printf '[%s]' \"$(stsenv_prompt)\"",
            init = init_line(sh, BIN)
        );
        let script = if sh == Sh::Fish {
            script
                .replace("\"$(stsenv_prompt)\"", "(stsenv_prompt)")
                .replace("STSENV_EXPIRES=1;", "set STSENV_EXPIRES 1;")
        } else {
            script
        };
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "[][deploy 42m][deploy expired]", "{sh:?}");
    }
}

#[test]
fn a_warning_appears_once_before_the_prompt_near_expiry() {
    let sts = FakeSts::numbered(180);
    for (sh, args) in [
        (Sh::Bash, vec!["bash", "--norc", "--noprofile", "-i"]),
        (Sh::Zsh, vec!["zsh", "-f", "-i"]),
        (Sh::Fish, vec!["fish", "--no-config", "-i"]),
    ] {
        sh.require();
        let env = env_for(&sts);
        let tty = Tmux::interactive(&env, &args);
        std::thread::sleep(std::time::Duration::from_millis(300));
        tty.type_line(&init_line(sh, BIN));
        tty.type_line("assume deploy; echo ASSUMED-$STSENV_PROFILE");
        tty.wait_for("ASSUMED-deploy", 1);
        for i in 0..3 {
            tty.type_line(&format!("echo PROMPT{i}"));
            tty.wait_for(&format!("PROMPT{i}"), 2);
        }
        let screen = tty.screen();
        let warnings = screen
            .matches("stsenv: the credentials of deploy expire in 3 min")
            .count();
        assert_eq!(
            warnings, 1,
            "{sh:?}: exactly one warning; screen:\n{screen}"
        );
    }
}

#[test]
fn init_quotes_a_binary_path_with_spaces_and_quotes() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let dir = env.home().join("my tools' \"bin\" $x");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("stsenv");
    // Copied by cp, not by this process: a file it held open for writing would be inherited
    // by the children other tests fork meanwhile, and running it could fail (ETXTBSY).
    let cp = std::process::Command::new("cp")
        .arg(BIN)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    let copy = copy.to_str().unwrap();
    for sh in HOOK_SHELLS {
        let script = format!(
            "{}; assume deploy; {}",
            init_line(sh, copy),
            dump_to(sh, "vars")
        );
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        assert!(
            get(&read_dump(&env, "vars"), "AWS_ACCESS_KEY_ID").is_some(),
            "{sh:?}"
        );
    }
    let out = env
        .command(copy)
        .args(["init", "powershell"])
        .output()
        .unwrap();
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("$global:__stsenv_exe = "))
        .expect("exe line");
    let (value, rest) = pwsh::verbatim(line.trim_start_matches("$global:__stsenv_exe = "));
    assert_eq!(value, copy);
    assert_eq!(rest, "");
    for name in [
        "function global:assume",
        "function global:unassume",
        "function global:stsenv_prompt",
    ] {
        assert!(text.contains(name), "{name}");
    }
}

#[test]
fn clear_unsets_everything_assume_sets() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    for sh in shells::ALL {
        let script = format!(
            "{}; eval \"$(\"$STSENV\" clear)\"; {}",
            sh.apply(&["deploy"]),
            dump_to(sh, "vars")
        );
        let script = match sh {
            Sh::Fish => format!(
                "{}; \"$STSENV\" clear | source; {}",
                sh.apply(&["deploy"]),
                dump_to(sh, "vars")
            ),
            Sh::Nu => format!(
                "{}; ^$env.STSENV clear | from json | load-env; {}",
                sh.apply(&["deploy"]),
                dump_to(sh, "vars")
            ),
            _ => script,
        };
        let out = sh.run(&env, &script, &[]);
        assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
        let vars = read_dump(&env, "vars");
        for name in stsenv::session::SET_BY_ASSUME {
            assert_eq!(get(&vars, name), None, "{sh:?}: {name}");
        }
    }
}

#[test]
fn exec_runs_the_command_with_the_credentials_and_its_exit_code() {
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts);
    env.set("AWS_PROFILE", "stale");
    let out = env
        .command(BIN)
        .args(["exec", "deploy", "--", "sh", "-c", "printf '%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"${AWS_PROFILE-unset}\" \"$STSENV_PROFILE\"; exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), "AssumeRole0|unset|deploy");
    let out = env
        .command(BIN)
        .args(["exec", "deploy", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(15),
        "the command's signal is stsenv's"
    );
    let out = env
        .command(BIN)
        .args(["exec", "nosuch", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let out = env
        .command(BIN)
        .args(["exec", "deploy", "--", "/no/such/program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr(&out),
        "stsenv: /no/such/program: No such file or directory\n"
    );
}

#[test]
fn whoami_reports_the_caller_and_the_session() {
    let sts = FakeSts::numbered(42 * 60 + 30);
    let mut env2 = env_for(&sts);
    let text = stdout(&env2.stsenv(&["assume", "deploy", "-s", "sh"]));
    for line in text.lines().filter(|l| l.starts_with("export ")) {
        let (name, value) = line["export ".len()..]
            .trim_end_matches(" &&")
            .split_once('=')
            .unwrap();
        env2.set(name, value.trim_matches('\''));
    }
    let out = env2.stsenv(&["whoami"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Arn      arn:aws:sts::123456789012:assumed-role/key/AssumeRole0"),
        "{text}"
    );
    assert!(text.contains("Account  123456789012"), "{text}");
    assert!(
        text.contains("Profile  deploy (stsenv, 42m left)"),
        "{text}"
    );
    let out = env2.stsenv(&["whoami", "--json"]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(json["Profile"], "deploy");
    assert!(json["SecondsLeft"].as_i64().unwrap() > 40 * 60);
    let out = env2.stsenv(&["whoami", "--json", "-p", "base"]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert!(json["Arn"].as_str().unwrap().ends_with(BASE_KEY), "{json}");
}

const CREDENTIALS: &str = "\
# My credentials. Keep this comment.
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
; an ini-style comment
[assumed]
aws_access_key_id = OLD
aws_secret_access_key = OLD
aws_session_token = OLD

# the next one is for CI
[ci]
aws_access_key_id = AKIACI
aws_secret_access_key = ci-secret
[other]   
aws_access_key_id=AKIAOTHER
aws_secret_access_key=other
[last]
aws_access_key_id = AKIALAST
aws_secret_access_key = last";

#[test]
fn write_profile_replaces_only_its_section_and_the_aws_cli_reads_it() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let file = env.write(".aws/credentials", CREDENTIALS);
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = env.stsenv(&[
        "assume",
        "deploy",
        "--write-profile",
        "assumed",
        "-s",
        "bash",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing on stdout");
    assert!(
        stderr(&out).contains("[assumed]") && !stderr(&out).contains("SECRET"),
        "{}",
        stderr(&out)
    );
    let new = std::fs::read_to_string(&file).unwrap();
    let (before, after) = CREDENTIALS.split_once("[assumed]\n").unwrap();
    let after = &after[after.find("\n\n# the next").unwrap()..];
    assert!(
        new.starts_with(before),
        "bytes before the section changed:\n{new}"
    );
    assert!(
        new.ends_with(after),
        "bytes after the section changed:\n{new}"
    );
    let section = &new[before.len()..new.len() - after.len()];
    assert!(
        section.starts_with("[assumed]\naws_access_key_id = AssumeRole0\n"),
        "{section}"
    );
    assert!(
        section.contains("aws_session_token = TOKEN0\n")
            && section.contains("x_security_token_expires = "),
        "{section}"
    );
    assert_eq!(mode(&file), 0o600);
    let arn = env.caller_arn(&[
        ("AWS_PROFILE", "assumed".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ]);
    assert!(arn.ends_with("/AssumeRole0"), "{arn}");
    // A second write replaces the section again, still without touching the rest.
    let out = env.stsenv(&[
        "assume",
        "deploy",
        "--write-profile",
        "assumed",
        "--refresh",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = std::fs::read_to_string(&file).unwrap();
    assert!(
        again.starts_with(before) && again.ends_with(after) && !again.contains("AssumeRole0"),
        "{again}"
    );
}

fn mode(p: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777
}

#[test]
fn the_aws_cli_uses_stsenv_as_credential_process() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let mut config = std::fs::read_to_string(env.home().join(".aws/config")).unwrap();
    config.push_str(&format!(
        "\n[profile via-stsenv]\ncredential_process = {BIN} assume deploy --shell json\n"
    ));
    env.write(".aws/config", &config);
    let arn = env.caller_arn(&[
        ("AWS_PROFILE", "via-stsenv".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ]);
    assert!(arn.ends_with("/AssumeRole0"), "{arn}");
}

#[test]
fn auto_refresh_re_assumes_instead_of_warning() {
    for (sh, args) in [
        (Sh::Bash, vec!["bash", "--norc", "--noprofile", "-i"]),
        (Sh::Zsh, vec!["zsh", "-f", "-i"]),
        (Sh::Fish, vec!["fish", "--no-config", "-i"]),
    ] {
        sh.require();
        // The first session ends in 3 minutes; the one that replaces it lasts an hour.
        let sts = FakeSts::start(|r, n| crate::common::fake_sts::Reply::Credentials {
            access_key_id: format!("{}{n}", r.action()),
            secret_access_key: format!("refresh-secret-{n}"),
            session_token: format!("refresh-token-{n}"),
            expiration: stsenv::time::rfc3339(
                stsenv::time::now() + if n == 0 { 180 } else { 3600 },
            ),
        });
        let mut env = env_for(&sts);
        env.set("STSENV_AUTO_REFRESH", "1");
        let tty = Tmux::interactive(&env, &args);
        std::thread::sleep(std::time::Duration::from_millis(300));
        tty.type_line(&init_line(sh, BIN));
        tty.type_line("assume deploy --no-cache; echo ASSUMED");
        tty.wait_for("stsenv: refreshed the credentials of deploy", 1);
        tty.type_line("echo KEY-$AWS_ACCESS_KEY_ID");
        let screen = tty.wait_for("KEY-AssumeRole", 1);
        assert!(
            !screen.contains("KEY-AssumeRole0"),
            "{sh:?}: still the first session:\n{screen}"
        );
        assert!(
            !screen.contains("expire in"),
            "{sh:?}: warned instead of refreshing:\n{screen}"
        );
    }
}

#[test]
fn a_terminal_gets_the_statements_and_a_hint() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let tty = Tmux::interactive(&env, &["bash", "--norc", "--noprofile", "-i"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    tty.type_line(&format!("{} assume deploy", Sh::Bash.word(BIN)));
    let screen = tty.wait_for("to apply this to your shell, run: eval", 1);
    assert!(
        screen.contains("export AWS_ACCESS_KEY_ID='AssumeRole0' &&"),
        "{screen}"
    );
    assert!(screen.contains("stsenv assume deploy)\""), "{screen}");
}

/// The security findings about this feature.
mod security {
    use crate::common::demo;
    use crate::common::fake_sts::FakeSts;
    use crate::common::shells;
    use crate::common::shells::get;
    use crate::common::shells::Sh;
    use crate::common::*;

    /// Security round 2, finding 12: zsh's PROMPT_SUBST must show a % in the profile name, not
    /// expand it.
    #[test]
    fn zsh_prompt_escapes_percent() {
        let env = TestEnv::new();
        let script = "eval \"$(\"$STSENV\" init zsh)\"; STSENV_PROFILE='50%F{red}'; print -rn -- \"$(stsenv_prompt)\"";
        let out = Sh::Zsh.run(&env, script, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "50%%F{red}");
    }

    /// Security round 2, finding 13: Help through the hooks goes to the terminal, not to eval.
    #[test]
    fn assume_help_through_the_hooks_is_printed_not_evaluated() {
        let env = TestEnv::new();
        for sh in [Sh::Bash, Sh::Zsh, Sh::Fish] {
            let init = match sh {
                Sh::Fish => "\"$STSENV\" init fish | source".to_string(),
                _ => format!("eval \"$(\"$STSENV\" init {})\"", sh.program()),
            };
            let out = sh.run(&env, &format!("{init}; assume --help"), &[]);
            assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
            assert!(
                stdout(&out).contains("Usage: stsenv assume"),
                "{sh:?}: {}",
                stdout(&out)
            );
            assert!(stderr(&out).is_empty(), "{sh:?}: {}", stderr(&out));
        }
    }

    /// Security round 2, finding 19: unassume puts back what assume replaced.
    #[test]
    fn unassume_restores_region_and_profile() {
        let sts = FakeSts::numbered(3600);
        let env = demo::env(&sts);
        for sh in [Sh::Bash, Sh::Zsh, Sh::Fish] {
            let (init, set) = match sh {
                Sh::Fish => (
                    "\"$STSENV\" init fish | source".to_string(),
                    "set -gx AWS_REGION ap-south-1; set -gx AWS_PROFILE mine; set -e AWS_DEFAULT_REGION",
                ),
                _ => (
                    format!("eval \"$(\"$STSENV\" init {})\"", sh.program()),
                    "export AWS_REGION=ap-south-1 AWS_PROFILE=mine; unset AWS_DEFAULT_REGION",
                ),
            };
            let script = format!(
                "{init}; {set}; assume demo --region us-west-2; assume demo --region eu-west-3; unassume; {}",
                sh.dump(&shells::vars())
            );
            let out = sh.run(&env, &script, &[]);
            assert!(out.status.success(), "{sh:?}: {}", stderr(&out));
            let vars = shells::parse(&out.stdout);
            assert_eq!(
                get(&vars, "AWS_REGION").as_deref(),
                Some("ap-south-1"),
                "{sh:?}"
            );
            assert_eq!(get(&vars, "AWS_PROFILE").as_deref(), Some("mine"), "{sh:?}");
            assert_eq!(get(&vars, "AWS_DEFAULT_REGION"), None, "{sh:?}");
            assert_eq!(get(&vars, "AWS_ACCESS_KEY_ID"), None, "{sh:?}");
        }
    }

    /// Security round 2, finding 21: bash and zsh hooks: a leading zero is no octal, and a
    /// failed statement fails both.
    #[test]
    fn hooks_survive_odd_expiries_and_fail_alike_on_a_readonly_variable() {
        let sts = FakeSts::numbered(3600);
        let env = demo::env(&sts);
        for sh in [Sh::Bash, Sh::Zsh] {
            let script = format!(
                "set -e; eval \"$(\"$STSENV\" init {})\"; STSENV_PROFILE=x STSENV_EXPIRES=09; __stsenv_precmd; stsenv_prompt; echo; echo ALIVE",
                sh.program()
            );
            let out = sh.run(&env, &script, &[]);
            assert!(stdout(&out).contains("ALIVE"), "{sh:?}: {}", stderr(&out));
            let script = format!(
                "eval \"$(\"$STSENV\" init {})\"; readonly AWS_PROFILE=pinned; assume demo 2>/dev/null; echo \"rc=$?\"",
                sh.program()
            );
            let out = sh.run(&env, &script, &[]);
            assert!(
                stdout(&out).contains("rc=1"),
                "{sh:?}: {} {}",
                stdout(&out),
                stderr(&out)
            );
        }
    }
}
