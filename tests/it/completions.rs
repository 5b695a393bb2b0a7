//! Tab completion through the real shells, with profile names read live from the config.

use crate::common::shells::{self, Sh};
use crate::common::tty::Tmux;
use crate::common::*;

const SCRIPTS: [(&str, &str); 6] = [
    ("bash", "stsenv.bash"),
    ("zsh", "_stsenv"),
    ("fish", "stsenv.fish"),
    ("powershell", "_stsenv.ps1"),
    ("elvish", "stsenv.elv"),
    ("nu", "stsenv.nu"),
];

fn repo_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(name)
}

/// stsenv on PATH (the registration scripts call it by name), and a config with profiles
/// whose names share prefixes.
fn env_with_profiles() -> TestEnv {
    let mut env = TestEnv::new();
    let bin_dir = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .display()
        .to_string();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    env.set("PATH", &path);
    env.with_base_profile(&format!(
        "[profile dev]\nrole_arn = {}\nsource_profile = base\n\n[profile dev-admin]\nrole_arn = {}\nsource_profile = base\n\n[profile prod]\nrole_arn = {}\nsource_profile = base\n",
        role_arn("dev"),
        role_arn("dev-admin"),
        role_arn("prod")
    ));
    env
}

#[test]
fn checked_in_scripts_are_what_the_binary_prints() {
    let env = TestEnv::new();
    for (shell, file) in SCRIPTS {
        let printed = stdout(&env.stsenv(&["completions", shell]));
        let checked_in = std::fs::read_to_string(repo_file(file)).unwrap_or_default();
        assert_eq!(
            printed, checked_in,
            "completions/{file} is stale: run scripts/completions.sh"
        );
    }
}

#[test]
fn checked_in_scripts_parse() {
    let env = TestEnv::new();
    for (program, args, file) in [
        ("bash", vec!["-n"], "stsenv.bash"),
        ("zsh", vec!["-n"], "_stsenv"),
        ("fish", vec!["--no-execute"], "stsenv.fish"),
    ] {
        require(program, &format!("apt-get install {program}"));
        let out = env
            .command(program)
            .args(args)
            .arg(repo_file(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", stderr(&out));
    }
}

/// Bash completion for `line` (words split on spaces; an empty last word completes anew).
fn bash_complete(env: &TestEnv, setup: &str, func: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "{setup}\nCOMP_WORDS=({}); COMP_CWORD={}; COMP_TYPE=9; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}\n{func} {} '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[0],
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = env
        .command("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut got: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    got.sort();
    got
}

#[test]
fn bash_completes_live_profile_names() {
    require("bash", "apt-get install bash");
    let env = env_with_profiles();
    let load = format!("source '{}'", repo_file("stsenv.bash").display());
    let f = "_clap_complete_stsenv";
    assert_eq!(
        bash_complete(&env, &load, f, &["stsenv", "assume", "d"]),
        ["dev", "dev-admin"]
    );
    assert_eq!(
        bash_complete(&env, &load, f, &["stsenv", "exec", "pr"]),
        ["prod"]
    );
    assert_eq!(
        bash_complete(
            &env,
            &load,
            f,
            &["stsenv", "assume", &role_arn("x"), "--profile", "de"]
        ),
        ["dev", "dev-admin"]
    );
    assert_eq!(
        bash_complete(&env, &load, f, &["stsenv", "assume", "dev", "--shell", "p"]),
        ["powershell"]
    );
    assert!(bash_complete(&env, &load, f, &["stsenv", "as"]).contains(&"assume".to_string()));
    // A profile added now completes, with nothing reloaded.
    let mut config = std::fs::read_to_string(env.home().join(".aws/config")).unwrap();
    config.push_str("[profile dev-new]\nregion = us-east-1\n");
    env.write(".aws/config", &config);
    assert_eq!(
        bash_complete(&env, &load, f, &["stsenv", "assume", "dev-"]),
        ["dev-admin", "dev-new"]
    );
}

#[test]
fn console_completes_profile_names_and_service_names() {
    require("bash", "apt-get install bash");
    let env = env_with_profiles();
    let load = format!("source '{}'", repo_file("stsenv.bash").display());
    let f = "_clap_complete_stsenv";
    assert!(bash_complete(&env, &load, f, &["stsenv", "co"]).contains(&"console".to_string()));
    assert_eq!(
        bash_complete(&env, &load, f, &["stsenv", "console", "d"]),
        ["dev", "dev-admin"]
    );
    assert_eq!(
        bash_complete(
            &env,
            &load,
            f,
            &["stsenv", "console", "dev", "--service", "s"]
        ),
        [
            "s3",
            "sagemaker",
            "secretsmanager",
            "securityhub",
            "sns",
            "sqs",
            "ssm",
            "sso",
            "states"
        ]
    );
    require("fish", "apt-get install fish");
    let load = format!("source '{}'", repo_file("stsenv.fish").display());
    assert_eq!(
        fish_complete(&env, &load, "stsenv console dev --service dyn"),
        ["dynamodb\t/dynamodbv2/home"]
    );
}

#[test]
fn the_assume_function_completes_like_stsenv_assume_in_bash() {
    let env = env_with_profiles();
    let load = format!("eval \"$('{BIN}' init bash)\"");
    assert_eq!(
        bash_complete(&env, &load, "__stsenv_complete_assume", &["assume", "d"]),
        ["dev", "dev-admin"]
    );
    assert_eq!(
        bash_complete(
            &env,
            &load,
            "__stsenv_complete_assume",
            &["assume", "dev", "--sh"]
        ),
        ["--shell"]
    );
}

fn fish_complete(env: &TestEnv, setup: &str, line: &str) -> Vec<String> {
    let script = format!("{setup}; complete -C '{line}'");
    let out = env
        .command("fish")
        .args(["--no-config", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(String::from).collect()
}

#[test]
fn fish_completes_live_profile_names_with_their_role_arns() {
    require("fish", "apt-get install fish");
    let env = env_with_profiles();
    let load = format!("source '{}'", repo_file("stsenv.fish").display());
    let got = fish_complete(&env, &load, "stsenv assume d");
    assert_eq!(
        got,
        [
            format!("dev\t{}", role_arn("dev")),
            format!("dev-admin\t{}", role_arn("dev-admin"))
        ]
    );
    let got = fish_complete(&env, &load, "stsenv whoami -p p");
    assert_eq!(got, [format!("prod\t{}", role_arn("prod"))]);
    let init = format!("'{BIN}' init fish | source");
    let got = fish_complete(&env, &init, "assume d");
    assert_eq!(
        got,
        [
            format!("dev\t{}", role_arn("dev")),
            format!("dev-admin\t{}", role_arn("dev-admin"))
        ]
    );
}

#[test]
fn zsh_completes_live_profile_names() {
    let env = env_with_profiles();
    let tty = Tmux::interactive(&env, &["zsh", "-f", "-i"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    tty.type_line("PS1='%% '; autoload -Uz compinit && compinit -u");
    tty.type_line(&format!(
        "source '{}'; echo LOADED",
        repo_file("_stsenv").display()
    ));
    tty.wait_for("LOADED", 2);
    tty.send_key("stsenv assume d");
    tty.send_key("Tab");
    tty.send_key("Tab");
    let screen = tty.wait_for("dev-admin", 1);
    assert!(!screen.contains("prod"), "{screen}");
    assert!(
        screen.contains(&role_arn("dev-admin")),
        "zsh shows the role ARN: {screen}"
    );
    // The assume function from `stsenv init zsh` completes the same way.
    tty.send_key("C-u");
    tty.type_line(&format!(
        "clear; eval \"$('{BIN}' init zsh)\"; echo INIT-DONE"
    ));
    tty.wait_for("INIT-DONE", 1);
    tty.send_key("assume pr");
    tty.send_key("Tab");
    tty.wait_for("assume prod", 1);
}

#[test]
fn profiles_lists_kinds_names_and_json() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[default]\nregion = eu-west-1\n[profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_start_url = https://x\nsso_region = us-east-1\n\
         [profile proc]\ncredential_process = echo {}\n[profile web]\nweb_identity_token_file = /t\nrole_arn_x = y\n\
         [profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = keys\nmfa_serial = arn:aws:iam::123456789012:mfa/a\nregion = us-west-2\n",
    );
    env.write(
        ".aws/credentials",
        "[keys]\naws_access_key_id = A\naws_secret_access_key = S\n",
    );
    let out = env.stsenv(&["profiles", "--names"]);
    assert_eq!(stdout(&out), "default\nkeys\nproc\nrole\nsso\nweb\n");
    let table = stdout(&env.stsenv(&["profiles"]));
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_string()
    };
    assert!(
        line("role").contains("role") && line("role").contains("arn:aws:iam::123456789012:role/r")
    );
    assert!(
        line("role").contains("keys")
            && line("role").contains("yes")
            && line("role").contains("us-west-2")
    );
    for (name, kind) in [
        ("keys", "static"),
        ("sso", "sso"),
        ("proc", "process"),
        ("web", "web identity"),
        ("default", "settings"),
    ] {
        assert!(line(name).contains(kind), "{name}: {}", line(name));
    }
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&env.stsenv(&["profiles", "--json"]))).unwrap();
    let role = json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "role")
        .unwrap();
    assert_eq!(role["kind"], "role");
    assert_eq!(role["source_profile"], "keys");
    assert_eq!(role["mfa_serial"], "arn:aws:iam::123456789012:mfa/a");
}

#[test]
fn profiles_reads_a_seven_thousand_line_config() {
    let env = TestEnv::new();
    let mut config = String::new();
    for i in 0..1400 {
        config.push_str(&format!(
            "[profile p{i:04}]\nrole_arn = arn:aws:iam::123456789012:role/r{i}\nsource_profile = base\nregion = eu-west-1\n\n"
        ));
    }
    assert_eq!(config.lines().count(), 7000);
    env.write(".aws/config", &config);
    let out = env.stsenv(&["profiles", "--names"]);
    assert!(out.status.success());
    let names = stdout(&out);
    assert_eq!(names.lines().count(), 1400);
    assert!(names.starts_with("p0000\np0001\n") && names.ends_with("p1399\n"));
}

#[test]
fn elvish_completes_live_profile_names() {
    require("elvish", "apt-get install elvish");
    let mut env = env_with_profiles();
    env.set("TERM", "xterm");
    let tty = Tmux::interactive(&env, &["elvish"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    tty.type_line(&format!(
        "eval (slurp < '{}'); $edit:completion:arg-completer[stsenv] stsenv assume d | each {{|c| echo CAND-$c }}",
        repo_file("stsenv.elv").display()
    ));
    let screen = tty.wait_for("CAND-dev-admin", 1);
    assert!(
        screen.contains("CAND-dev\n") || screen.contains("CAND-dev "),
        "{screen}"
    );
    assert!(!screen.contains("CAND-prod"), "{screen}");
}

/// What nu offers at the end of `line`, after `setup`, as its IDE mode computes it (it runs
/// the custom completers, so stsenv is called back for real).
fn nu_complete(env: &TestEnv, setup: &str, line: &str) -> Vec<String> {
    Sh::Nu.require();
    let text = format!("{setup}\n{line}");
    let file = env.write("complete.nu", &text);
    let out = env
        .command("nu")
        .args([
            "--no-config-file",
            "--ide-complete",
            &text.len().to_string(),
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    json["completions"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nu_completes_flags_values_and_live_profile_names() {
    let env = env_with_profiles();
    let load = format!(
        "source {}",
        Sh::Nu.word(repo_file("stsenv.nu").to_str().unwrap())
    );
    assert_eq!(
        nu_complete(&env, &load, "stsenv assume d"),
        ["dev", "dev-admin"]
    );
    assert_eq!(nu_complete(&env, &load, "stsenv exec pr"), ["prod"]);
    assert_eq!(
        nu_complete(
            &env,
            &load,
            &format!("stsenv assume {} --profile de", role_arn("x"))
        ),
        ["dev", "dev-admin"]
    );
    assert_eq!(
        nu_complete(&env, &load, "stsenv assume dev --sh"),
        ["--shell"]
    );
    assert_eq!(
        nu_complete(&env, &load, "stsenv assume dev --shell n"),
        ["nu"]
    );
    assert!(nu_complete(&env, &load, "stsenv as").contains(&"assume".to_string()));
    // A profile added now completes, with nothing reloaded.
    let mut config = std::fs::read_to_string(env.home().join(".aws/config")).unwrap();
    config.push_str("[profile dev-new]\nregion = us-east-1\n");
    env.write(".aws/config", &config);
    assert_eq!(
        nu_complete(&env, &load, "stsenv assume dev-"),
        ["dev-admin", "dev-new"]
    );
    // The hook's assume completes as `stsenv assume` does.
    let init = shells::nu_init(&env, BIN);
    assert_eq!(
        nu_complete(&env, &init, "assume dev-"),
        ["dev-admin", "dev-new"]
    );
    assert_eq!(
        nu_complete(&env, &init, "assume dev --no-c"),
        ["--no-cache"]
    );
}

#[test]
fn interactive_nu_completes_a_profile_name_with_its_role_arn() {
    Sh::Nu.require();
    let env = env_with_profiles();
    let init = shells::nu_init(&env, BIN);
    let tty = Tmux::interactive(
        &env,
        &[
            "env",
            "TERM=xterm-256color",
            "nu",
            "--no-config-file",
            "--no-history",
        ],
    );
    tty.wait_for(">", 1);
    tty.type_line(&format!("{init}; print LOADED"));
    tty.wait_for("LOADED", 1);
    tty.send_keys_literal("stsenv assume dev");
    tty.send_key("Tab");
    let screen = tty.wait_for("dev-admin", 1);
    assert!(
        screen.contains(&role_arn("dev-admin")),
        "nu shows the role ARN: {screen}"
    );
    assert!(!screen.contains("prod"), "{screen}");
    tty.send_key("C-c");
    tty.send_keys_literal("assume pr");
    tty.send_key("Tab");
    tty.wait_for("assume prod", 1);
}
