//! Digests, public keys and signature verification: ECDSA (P-256, P-384, P-521, with
//! precomputed tables for keys in use), RSA (PKCS#1 v1.5 and PSS) and Ed25519.

pub mod digest;
pub(crate) mod ecdsa_tables;
pub mod keys;
pub mod options;
pub(crate) mod rsa;
