//! stsenv: assume an AWS IAM role and print the environment for a shell. The binary in
//! `main.rs` is a thin edge over these modules; the library exists so tests can drive the
//! renderers directly.
//!
//! Layers, top to bottom (imports go down, never up): the commands (`cli`, `cmd`, `server`),
//! the credential engine (`engine`), and the ground (everything else).

pub mod aws_files;
pub mod browser;
pub mod browser_context;
pub mod cache;
pub mod cli;
pub mod cmd;
pub mod context;
pub mod credentials_file;
pub mod engine;
pub mod env;
pub mod error;
pub mod federation;
pub mod frecency;
pub mod fsutil;
pub mod guard;
pub mod helper;
pub mod iam;
pub mod ini;
pub mod keystore;
pub mod mfa;
pub mod net;
pub mod onetime;
pub mod picker;
pub mod server;
pub mod session;
pub mod shell;
pub mod sso;
pub mod sts;
pub mod time;
pub mod tty;
pub mod validate;
pub mod verbose;
