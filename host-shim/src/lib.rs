//! The native half of ocisig: runs the verifier module in wasmtime (and, later, fetches the
//! evidence from registries). The `ocisig` binary is thin glue over this library.

pub mod evidence;
pub mod layout;
pub mod module;
pub mod policy_args;

pub use module::{ModuleLimits, VerifierModule};
