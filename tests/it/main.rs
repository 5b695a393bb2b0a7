//! The integration tests, one binary so that their waits overlap: each module is a feature,
//! tested through the real parts the harness (`common`) starts on 127.0.0.1. The tests of
//! each security finding sit beside the feature they guard, with the finding in their doc
//! comment.

mod common;

mod assume_fake;
mod assume_moto;
mod assume_root;
mod cli_errors;
mod completions;
mod console;
mod console_browser;
mod exec_server;
mod faults;
mod hardening;
mod keys;
mod layers;
mod mfa_cache;
mod networks;
mod nu;
mod picker;
mod process_cache;
mod profiles;
mod quoting_props;
mod refresh;
mod shell_integration;
mod sso;
mod sso_code;
mod sso_sync;
mod write_profile;
