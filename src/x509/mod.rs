//! X.509 certificates and certificate paths, for every chain ocisig checks: Fulcio's
//! code-signing certificates and timestamp authorities' certificates.
//!
//! - [`certificate`] reads one DER certificate strictly, in place, and records every
//!   extension with its criticality.
//! - [`path`] validates a path (RFC 5280 §6) in one place: the extensions it processes per
//!   position, the CA constraints, the leaf's purpose, names, signatures and validity.
//! - [`authority`] holds the certificate authorities of the trust material, each checked as
//!   a path once, and finds the one that issued a leaf.
//! - [`timestamp`] verifies RFC 3161 signed timestamps against timestamp authorities' paths.

pub mod authority;
pub mod certificate;
pub mod path;
pub mod timestamp;
