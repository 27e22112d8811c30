//! The native half of ocisig: fetches cosign evidence from registries and OCI layouts, and
//! runs the verifier module in wasmtime. The `ocisig` binary is thin glue over this library.

pub mod batch;
pub mod bounded;
pub mod cip;
pub mod credentials;
pub mod evidence;
pub mod layout;
pub mod module;
pub mod module_cache;
pub mod policy_args;
pub mod registry;
pub mod serve;
pub mod trust;
pub mod tuf_client;

pub use module::{ModuleLimits, VerifierModule};
