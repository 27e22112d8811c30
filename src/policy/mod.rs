//! The policy: which keys and identities are trusted, what a signature must say, and the
//! attestations an image must have. Read and checked once, then used for any number of
//! verifications.

pub mod attestation;
pub(crate) mod compiled;
pub(crate) mod document;
pub mod scope;
pub mod set;
