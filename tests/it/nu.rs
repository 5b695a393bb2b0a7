//! nushell through a real nu (shells::NU_VERSION): the JSON record byte for byte, the hook in
//! a scripted nu and in an interactive one under tmux, and detection of nu as the parent (its
//! completion is tested in `completions`, and the all-shells tests run in nu too). A missing
//! nu fails the test and says what to install.

use crate::assume_fake::HOSTILE;
use crate::common::fake_sts::{FakeSts, Reply};
use crate::common::shells::{self, get, Sh};
use crate::common::tty::Tmux;
use crate::common::*;
use stsenv::shell::{Dialect, Shell};

fn env_for(sts: &FakeSts) -> TestEnv {
    let mut env = TestEnv::new();
    env.with_base_profile(&format!(
        "[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = eu-west-1\n",
        role_arn("deploy")
    ));
    env.set("AWS_ENDPOINT_URL", &sts.url);
    env
}

/// `nu --no-config-file -c script`, with `env`'s environment and STSENV set.
fn nu(env: &TestEnv, script: &str) -> std::process::Output {
    Sh::Nu.run(env, script, &[])
}

/// `stsenv init nu` saved in HOME, and the line that loads it.
fn init(env: &TestEnv) -> String {
    shells::nu_init(env, BIN)
}

fn dump_to(file: &str) -> String {
    Sh::Nu.dump_to(&shells::vars(), file)
}

fn read_dump(env: &TestEnv, file: &str) -> shells::Vars {
    shells::parse(&std::fs::read(env.home().join(file)).unwrap_or_else(|e| panic!("{file}: {e}")))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

/// What is special to nu, beyond the values the POSIX tests use: `$env.X`, `(…)` and `^cmd`
/// (nu's substitution and externals), `#` (a comment), a leading `-` (a flag), raw-string
/// and interpolation quotes, CR, the empty string, emoji, control characters, JSON's own
/// escapes and words, U+2028/9.
const NU_ONLY: [&str; 19] = [
    "(touch pwned4)",
    "$\"(touch pwned5)\"",
    "^touch pwned6",
    "$env.HOME",
    "$nu.home-path",
    "# not a comment",
    "-leading-dash",
    "--help",
    "r#'raw'#",
    "'#",
    "cr\r\nlf\r",
    "",
    "\u{1f980}\u{1f600} \u{200d}",
    "\u{7f}\u{1}\u{1b}[31m",
    "\\u0041 \\n \\\"",
    "{\"json\": [1, 2]}",
    "null",
    "/* c */ // c",
    "\u{2028}\u{2029}",
];

#[test]
fn hostile_values_round_trip_byte_for_byte_and_nothing_runs() {
    let env = TestEnv::new();
    let values: Vec<&str> = HOSTILE.iter().chain(&NU_ONLY).copied().collect();
    let names: Vec<String> = (0..values.len())
        .map(|i| format!("NU_HOSTILE_{i}"))
        .collect();
    let mut change: Vec<(&'static str, Option<String>)> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| (&*Box::leak(n.clone().into_boxed_str()), Some(v.to_string())))
        .collect();
    change.push(("NU_GONE", None));
    let text = Dialect::from(Shell::NU)
        .render(&change)
        .unwrap()
        .expect("renders");
    let file = env.write("change.json", &text);
    let list = names.join(" ");
    for parse in ["from json", "from json --strict"] {
        // nu's own values, as hex, and what a child process gets, NUL-separated.
        let script = format!(
            "$env.NU_GONE = 'stale'; open --raw {} | {parse} | load-env; \
             print ([{list}] | each {{|n| $env | get $n | encode utf-8 | encode hex }} | str join ' '); \
             ^sh -c {}",
            Sh::Nu.word(file.to_str().unwrap()),
            Sh::Nu.word(&Sh::Dash.dump(&[&list, "NU_GONE"]))
        );
        let out = nu(&env, &script);
        assert!(out.status.success(), "{parse}: {}", stderr(&out));
        let (first, rest) = out
            .stdout
            .split_at(out.stdout.iter().position(|&b| b == b'\n').unwrap());
        let got: Vec<&str> = std::str::from_utf8(first).unwrap().split(' ').collect();
        for ((name, value), h) in names.iter().zip(&values).zip(&got) {
            assert_eq!(*h, hex(value), "{parse}: {name} = {value:?} in nu");
        }
        let child = shells::parse(&rest[1..]);
        for (name, value) in names.iter().zip(&values) {
            assert_eq!(
                get(&child, name).as_deref(),
                Some(*value),
                "{parse}: {name} in a child"
            );
        }
        assert_eq!(
            get(&child, "NU_GONE"),
            None,
            "{parse}: a null reaches no child"
        );
    }
    let pwned: Vec<_> = std::fs::read_dir(env.home())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pwned"))
        .collect();
    assert!(pwned.is_empty(), "a value was executed: {pwned:?}");
}

#[test]
fn a_failure_prints_nothing_that_nu_would_apply() {
    let env = TestEnv::with_source_keys();
    let out = env.stsenv(&["assume", "nosuch-profile", "--shell", "nu"]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "", "nothing on stdout");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // Applied by hand, the pipeline fails and the environment stays as it was.
    let script = format!(
        "$env.AWS_ACCESS_KEY_ID = 'before'; try {{ ^$env.STSENV assume nosuch-profile --shell nu | from json | load-env; print APPLIED }} catch {{ print FAILED }}; {}",
        Sh::Nu.dump(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("FAILED\n"), "{text}");
    let vars = shells::parse(&text.as_bytes()["FAILED\n".len()..]);
    assert_eq!(get(&vars, "AWS_ACCESS_KEY_ID").as_deref(), Some("before"));
    // Even without pipefail, empty input is nothing, which load-env refuses.
    let out = nu(
        &env,
        "try { '' | from json | load-env; print APPLIED } catch { print FAILED }",
    );
    assert_eq!(stdout(&out), "FAILED\n");
}

#[test]
fn nu_is_detected_as_the_parent_and_clear_hides_everything() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let out = nu(&env, "^sh -c 'cat /proc/$PPID/comm'");
    assert_eq!(stdout(&out), "nu\n", "the parent's name as stsenv reads it");
    let out = nu(&env, "^$env.STSENV assume deploy");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("{\n  \"AWS_PROFILE\": null,"),
        "{}",
        stdout(&out)
    );
    let out = nu(&env, "^$env.STSENV clear");
    assert!(
        stdout(&out).starts_with("{\n  \"AWS_ACCESS_KEY_ID\": null,"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_loads_twice_without_a_word_on_stderr_and_adds_one_hook() {
    let env = TestEnv::new();
    let load = init(&env);
    let script = format!(
        "{load}; {load}; print ($env.config.hooks.pre_prompt | length); print (scope commands | where name in [assume unassume stsenv_prompt] | length)"
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "errors or deprecation warnings");
    assert_eq!(stdout(&out), "1\n3\n");
    // With nu's own default config too, and next to a hook of the user's.
    let mut c = env.command("nu");
    let script = format!(
        "$env.config.hooks.pre_prompt = [{{|| print mine }}]; {load}; {load}; print ($env.config.hooks.pre_prompt | each {{|h| view source $h }} | to nuon --serialize)"
    );
    let out = c.args(["-c", &script]).output().unwrap();
    assert_eq!(stderr(&out), "");
    assert_eq!(
        stdout(&out),
        "[\"{|| print mine }\", \"{|| __stsenv_precmd }\"]\n"
    );
}

#[test]
fn assume_and_unassume_and_a_failure_changes_nothing() {
    let sts = FakeSts::numbered(3600);
    let mut env = env_for(&sts);
    env.set("AWS_REGION", "us-west-2");
    env.set("AWS_PROFILE", "base");
    let load = init(&env);
    // `$env` whole, but what nu itself changes between two commands.
    let snapshot =
        "($env | reject --optional LAST_EXIT_CODE CMD_DURATION_MS config | to nuon --serialize)";
    let script = format!(
        "{load}; {load}; assume deploy --no-cache --region eu-west-1; {d1}; let before = {snapshot}; \
         let rc = try {{ assume nosuch-profile; 0 }} catch {{ $env.LAST_EXIT_CODE }}; \
         $rc | into string | save -f ($env.HOME | path join rc); \
         if {snapshot} != $before {{ print CHANGED }}; {d2}; unassume; {d3}; \
         print ($env | columns | where $it in [{vars} __stsenv_saved] | to nuon --serialize)",
        d1 = dump_to("after-assume"),
        d2 = dump_to("after-failure"),
        d3 = dump_to("after-unassume"),
        vars = stsenv::session::SET_BY_ASSUME.join(" "),
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "[AWS_REGION]\n",
        "only the restored AWS_REGION is left"
    );
    let a = read_dump(&env, "after-assume");
    assert!(get(&a, "AWS_ACCESS_KEY_ID")
        .unwrap()
        .starts_with("AssumeRole"));
    assert_eq!(get(&a, "STSENV_PROFILE").as_deref(), Some("deploy"));
    assert_eq!(get(&a, "AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(get(&a, "AWS_PROFILE"), None);
    assert_eq!(
        read_dump(&env, "after-failure"),
        a,
        "a failed assume changed the environment"
    );
    let rc = std::fs::read_to_string(env.home().join("rc")).unwrap();
    assert_eq!(rc.trim(), "1", "stsenv's exit status");
    let c = read_dump(&env, "after-unassume");
    for name in stsenv::session::SET_BY_ASSUME {
        let want = (name == "AWS_REGION").then(|| "us-west-2".to_string());
        assert_eq!(get(&c, name), want, "unassume and {name}");
    }
    assert_eq!(get(&c, "AWS_PROFILE").as_deref(), Some("base"), "put back");
}

#[test]
fn assume_help_is_shown_not_applied_and_a_failure_stops_the_script() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let load = init(&env);
    let out = nu(
        &env,
        &format!("{load}; assume --help; print ('STSENV_PROFILE' in $env)"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Usage:") && stdout(&out).ends_with("false\n"));
    // Like `set -e`: a failed assume ends a script with stsenv's status.
    let out = nu(
        &env,
        &format!("{load}; assume nosuch-profile; print CONTINUED"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout(&out).contains("CONTINUED"));
    assert_eq!(
        stderr(&out).lines().count(),
        1,
        "stsenv's message alone: {}",
        stderr(&out)
    );
}

#[test]
fn the_prompt_segment_starts_no_process() {
    let sts = FakeSts::numbered(42 * 60 + 30);
    let env = env_for(&sts);
    let load = init(&env);
    let script = format!(
        "{load}; print -n $'[(stsenv_prompt)]'; assume deploy; $env.PATH = []; \
         print -n $'[(stsenv_prompt)]'; $env.STSENV_EXPIRES = 1; print -n $'[(stsenv_prompt)]'; \
         $env.STSENV_EXPIRES = ((date now | into int) // 1_000_000_000 + 3900 | into string); \
         print -n $'[(stsenv_prompt)]'; $env.STSENV_EXPIRES = 'soon'; print -n $'[(stsenv_prompt)]'"
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "[][deploy 42m][deploy expired][deploy 1h05m][deploy]"
    );
}

#[test]
fn the_warning_before_the_prompt_comes_once() {
    let sts = FakeSts::numbered(180);
    let env = env_for(&sts);
    let load = init(&env);
    let script = format!(
        "{load}; assume deploy; __stsenv_precmd; __stsenv_precmd; $env.STSENV_EXPIRES = '1'; __stsenv_precmd; __stsenv_precmd"
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "stsenv: the credentials of deploy expire in 3 min; run: assume deploy\n\
         stsenv: the credentials of deploy have expired; run: assume deploy\n"
    );
}

/// An interactive nu in tmux: nu's defaults, no config file, no history.
fn interactive(env: &TestEnv) -> Tmux {
    Sh::Nu.require();
    let tty = Tmux::interactive(
        env,
        &[
            "env",
            "TERM=xterm-256color",
            "nu",
            "--no-config-file",
            "--no-history",
        ],
    );
    tty.wait_for(">", 1);
    tty
}

#[test]
fn interactive_nu_warns_once_shows_the_segment_and_unassumes() {
    Sh::Nu.require();
    let sts = FakeSts::numbered(180);
    let env = env_for(&sts);
    let load = init(&env);
    let tty = interactive(&env);
    tty.type_line(&format!(
        "{load}; $env.PROMPT_COMMAND = {{|| $'[(stsenv_prompt)]' }}; print LOADED"
    ));
    tty.wait_for("LOADED", 1);
    tty.type_line("assume deploy; print $'ASSUMED-($env.STSENV_PROFILE)'");
    tty.wait_for("ASSUMED-deploy", 1);
    for i in 0..3 {
        tty.type_line(&format!("print PROMPT{i}"));
        tty.wait_for(&format!("PROMPT{i}"), 2);
    }
    let screen = tty.screen();
    assert_eq!(
        screen
            .matches("stsenv: the credentials of deploy expire in 3 min")
            .count(),
        1,
        "exactly one warning; screen:\n{screen}"
    );
    assert!(
        screen.contains("[deploy 2m]") || screen.contains("[deploy 3m]"),
        "{screen}"
    );
    tty.type_line("let before = ($env | reject --optional LAST_EXIT_CODE CMD_DURATION_MS config | to nuon --serialize); assume nosuch-profile");
    tty.wait_for("nosuch-profile", 2);
    tty.type_line("print $'RC-($env.LAST_EXIT_CODE)-(($env | reject --optional LAST_EXIT_CODE CMD_DURATION_MS config | to nuon --serialize) == $before)'");
    tty.wait_for("RC-1-true", 1);
    tty.type_line("unassume; print $'GONE-(\"STSENV_PROFILE\" in $env)'");
    tty.wait_for("GONE-false", 1);
    // The prompt without a session again: the one before assume, and this one.
    tty.wait_for("[]>", 2);
}

#[test]
fn interactive_nu_refreshes_with_the_same_options() {
    Sh::Nu.require();
    // The first session ends in 3 minutes; the one that replaces it lasts an hour.
    let sts = FakeSts::start(|r, n| Reply::Credentials {
        access_key_id: format!("{}{n}", r.action()),
        secret_access_key: format!("refresh-secret-{n}"),
        session_token: format!("refresh-token-{n}"),
        expiration: stsenv::time::rfc3339(stsenv::time::now() + if n == 0 { 180 } else { 3600 }),
    });
    let mut env = env_for(&sts);
    env.set("STSENV_AUTO_REFRESH", "1");
    let load = init(&env);
    let tty = interactive(&env);
    tty.type_line(&format!("{load}; print LOADED"));
    tty.wait_for("LOADED", 1);
    tty.type_line("assume deploy --no-cache --session-name 'keep.me@x' --tag 'k=v w' --duration 15m; print ASSUMED");
    tty.wait_for("stsenv: refreshed the credentials of deploy", 1);
    tty.type_line("print $'KEY-($env.AWS_ACCESS_KEY_ID)'");
    let screen = tty.wait_for("KEY-AssumeRole", 1);
    assert!(
        !screen.contains("KEY-AssumeRole0"),
        "still the first session:\n{screen}"
    );
    assert!(
        !screen.contains("expire in"),
        "warned instead of refreshing:\n{screen}"
    );
    let calls = sts.calls("AssumeRole");
    assert_eq!(calls.len(), 2, "{calls:?}");
    for p in [
        "RoleSessionName",
        "DurationSeconds",
        "Tags.member.1.Key",
        "Tags.member.1.Value",
    ] {
        assert_eq!(calls[1].param(p), calls[0].param(p), "{p} kept");
    }
    assert_eq!(calls[1].param("RoleSessionName"), Some("keep.me@x"));
}

#[test]
fn a_refresh_that_fails_warns_instead_and_keeps_the_exit_status() {
    let sts = FakeSts::numbered(180);
    let env = env_for(&sts);
    let load = init(&env);
    // No STSENV_ARGS: stsenv refresh has nothing to replay.
    let script = format!(
        "{load}; assume deploy; $env.STSENV_ARGS = ''; $env.STSENV_AUTO_REFRESH = 1; \
         $env.LAST_EXIT_CODE = 7; __stsenv_precmd; __stsenv_precmd; print $env.LAST_EXIT_CODE"
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "7\n");
    let err = stderr(&out);
    assert_eq!(
        err.matches("cannot refresh").count() + err.matches("nothing to refresh").count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches("expire in 3 min").count(), 1, "{err}");
}

#[test]
fn init_quotes_a_binary_path_with_quotes_hashes_and_parentheses() {
    let sts = FakeSts::numbered(3600);
    let env = env_for(&sts);
    let dir = env.home().join("my tools' \"bin\" $x #'# (touch pwned)");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("stsenv");
    // Copied by cp, not by this process (see TestEnv::write_executable).
    let cp = std::process::Command::new("cp")
        .arg(BIN)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    let out = env
        .command(copy.to_str().unwrap())
        .args(["init", "nu"])
        .output()
        .unwrap();
    let path = env.write("stsenv-init.nu", &stdout(&out));
    let script = format!(
        "source {}; assume deploy; print $env.STSENV_PROFILE",
        Sh::Nu.word(path.to_str().unwrap())
    );
    let out = nu(&env, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "deploy\n");
    assert!(!env.home().join("pwned").exists());
}

/// The two ways nu users install a tool's script (as for zoxide and starship), each read by a
/// nu starting up with its config: `source` in config.nu of a file saved once, and a file in
/// the vendor autoload folder. Either defines the commands and one hook, without a word.
#[test]
fn the_hook_loads_from_config_nu_and_from_the_vendor_autoload_folder() {
    let sts = FakeSts::numbered(42 * 60 + 30);
    let env = env_for(&sts);
    // nu writes default config files that are missing, and says so: these are the user's.
    env.write(".config/nushell/env.nu", "");
    let check = "print (scope commands | where name in [assume unassume stsenv_prompt] | length) ($env.config.hooks.pre_prompt | length); assume deploy; print (stsenv_prompt); exit";
    let start = |env: &TestEnv| {
        let out = env.command("nu").args(["-e", check]).output().unwrap();
        assert_eq!(stderr(&out), "", "errors or deprecation warnings");
        stdout(&out)
    };
    let out = nu(&env, "^$env.STSENV init nu | save -f ~/.stsenv.nu");
    assert!(out.status.success(), "{}", stderr(&out));
    env.write(".config/nushell/config.nu", "source ~/.stsenv.nu\n");
    assert_eq!(start(&env), "3\n1\ndeploy 42m\n");
    env.write(".config/nushell/config.nu", "");
    let out = nu(
        &env,
        "mkdir ($nu.data-dir | path join vendor/autoload); \
         ^$env.STSENV init nu | save -f ($nu.data-dir | path join vendor/autoload/stsenv.nu)",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env
        .home()
        .join(".local/share/nushell/vendor/autoload/stsenv.nu")
        .exists());
    assert_eq!(start(&env), "3\n1\ndeploy 42m\n");
}
