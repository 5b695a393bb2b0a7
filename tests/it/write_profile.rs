//! `stsenv assume --write-profile NAME`: the credentials into the shared credentials file,
//! never over long-term keys or the chain, never replacing a device, keeping every other byte,
//! under a lock for concurrent writers.

use std::os::unix::fs::MetadataExt;
use std::process::Stdio;

use crate::common::demo;
use crate::common::demo::ROLE as DEMO;
use crate::common::fake_sts::FakeSts;
use crate::common::*;

/// Security round 2, finding 1: --write-profile must not destroy long-term keys, nor a profile
/// of the chain.
#[test]
fn write_profile_refuses_long_term_keys_and_the_chain_unless_forced() {
    let sts = FakeSts::numbered(3600);
    let env = demo::env(&sts);
    let before = demo::read(&env, ".aws/credentials");
    let out = env.stsenv(&["assume", "demo", "--write-profile", "default"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("[default]") && err.contains("long-term keys") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        demo::read(&env, ".aws/credentials"),
        before,
        "the file was changed"
    );
    assert!(sts.requests().is_empty(), "refused before any request");
    // A profile of the chain being assumed, even without keys of its own.
    let out = env.stsenv(&["assume", "top", "--write-profile", "mid"]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("[mid]") && err.contains("chain"),
        "{err}"
    );
    assert_eq!(demo::read(&env, ".aws/credentials"), before);
    // Another name works, and --force does what it says.
    let out = env.stsenv(&["assume", "demo", "--write-profile", "assumed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        demo::read(&env, ".aws/credentials").contains(&format!("aws_access_key_id = {BASE_KEY}"))
    );
    let out = env.stsenv(&["assume", "demo", "--write-profile", "default", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!demo::read(&env, ".aws/credentials").contains(BASE_KEY));
}

/// Security round 2, finding 3: Concurrent writers keep each other's sections.
#[test]
fn concurrent_write_profile_runs_keep_each_others_sections() {
    let sts = FakeSts::numbered(3600);
    let env = demo::env(&sts);
    for round in 0..15 {
        let children: Vec<_> = ["one", "two"]
            .iter()
            .map(|name| {
                env.command(BIN)
                    .args([
                        "assume",
                        "demo",
                        "--no-cache",
                        "--write-profile",
                        &format!("{name}{round}"),
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let text = demo::read(&env, ".aws/credentials");
        assert!(
            text.contains(&format!("[one{round}]")) && text.contains(&format!("[two{round}]")),
            "round {round}: {text}"
        );
    }
}

/// Security round 2, finding 9: The credentials file must be a regular file (or missing, or a
/// link to one).
#[test]
fn write_profile_never_replaces_a_device() {
    let sts = FakeSts::numbered(3600);
    let mut env = demo::env(&sts);
    env.write(
        ".aws/config",
        &format!("[profile demo]\nrole_arn = {DEMO}\ncredential_source = Environment\n"),
    );
    env.set("AWS_ACCESS_KEY_ID", BASE_KEY);
    env.set("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
    env.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let out = env.stsenv(&["assume", "demo", "--write-profile", "x"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &meta.file_type()
    ));
    // A symlink to a regular file is followed and kept.
    let real = env.write("real-credentials", "");
    let link = env.home().join("link-credentials");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    env.set("AWS_SHARED_CREDENTIALS_FILE", link.to_str().unwrap());
    let out = env.stsenv(&["assume", "demo", "--write-profile", "x"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("[x]"));
}

/// Security round 2, finding 16 and 17: Other keys of the section stay; hard links stay linked;
/// stale temp files go.
#[test]
fn write_profile_keeps_other_keys_hard_links_and_cleans_up_after_a_kill() {
    let sts = FakeSts::numbered(3600);
    let env = demo::env(&sts);
    let file = env.home().join(".aws/credentials");
    let mut text = demo::read(&env, ".aws/credentials");
    text.push_str(
        "\n[assumed]\nregion = eu-central-1\naws_session_token = OLD\nmy_note = keep me\n",
    );
    std::fs::write(&file, &text).unwrap();
    let link = env.home().join("credentials-link");
    std::fs::hard_link(&file, &link).unwrap();
    // What a run killed mid-write left behind.
    let stale = env.home().join(".aws/.credentials.999999.12345.tmp");
    std::fs::write(&stale, "leftover").unwrap();
    let out = env.stsenv(&["assume", "demo", "--write-profile", "assumed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let now = demo::read(&env, ".aws/credentials");
    assert!(
        now.contains("region = eu-central-1") && now.contains("my_note = keep me"),
        "{now}"
    );
    assert!(!now.contains("OLD"), "{now}");
    assert!(now.starts_with("# mine\n[default]"), "{now}");
    assert_eq!(
        std::fs::read_to_string(&link).unwrap(),
        now,
        "the hard link was broken"
    );
    assert!(!stale.exists(), "the stale temp file is still there");
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
}
