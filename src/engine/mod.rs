//! The credential engine: from a plain `Request` to a `Session` (plan, cache, source
//! credentials, MFA, the hops). Every command that needs credentials calls it; it knows
//! nothing of the command line or of how the result is shown.

pub mod chain;
pub mod obtain;
pub mod plan;
pub mod request;
pub mod signin;
pub mod source;

pub use obtain::{obtain, origin, source_profiles};
pub use request::{CacheMode, Request, Target};
