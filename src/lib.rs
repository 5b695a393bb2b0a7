//! stsenv: assume an AWS IAM role and print the environment for a shell. The binary in
//! `main.rs` is a thin edge over these modules; the library exists so tests can drive the
//! renderers directly.

pub mod assume;
pub mod cache;
pub mod cli;
pub mod complete;
pub mod credentials_file;
pub mod error;
pub mod exec;
pub mod init;
pub mod mfa;
pub mod profiles;
pub mod resolve;
pub mod session;
pub mod shell;
pub mod source;
pub mod sts;
pub mod time;
pub mod verbose;
pub mod whoami;
