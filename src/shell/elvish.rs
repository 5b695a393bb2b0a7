//! elvish: stsenv completes for it, and prints no statements for it (nor a hook).

use super::Def;

pub static ELVISH: Def = Def {
    name: "elvish",
    aliases: &[],
    processes: &["elvish"],
    syntax: None,
    hook: None,
    completer: Some(&clap_complete::env::Elvish),
};
