//! X.509 certificates and certificate paths, for every chain ocisig checks: Fulcio's
//! code-signing certificates and timestamp authorities' certificates.
//!
//! - [`certificate`] reads one DER certificate strictly, in place, and records every
//!   extension with its criticality.
//! - [`path`] validates a path (RFC 5280 §6) in one place: the extensions it processes per
//!   position, the CA constraints, the leaf's purpose, names, signatures and validity.

pub mod certificate;
pub mod path;
