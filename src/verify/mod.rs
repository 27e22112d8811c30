//! The verification: every signature and attestation of one image checked under a policy, in
//! the documented order, adding up to a verdict.
//!
//! `image` runs it all; `layers` and `referrers`/`bundles` check one signature of
//! each format, `signer` finds who signed, `log` applies the transparency-log rule,
//! `claims` what the signed claim must say, `attestations` the attestation rules, and
//! `decide` turns what verified into the verdict's reason.

pub(crate) mod attestations;
pub(crate) mod bundles;
pub(crate) mod claims;
pub(crate) mod context;
pub(crate) mod decide;
pub(crate) mod image;
pub(crate) mod layers;
pub(crate) mod log;
pub(crate) mod outcome;
pub(crate) mod referrers;
pub(crate) mod set;
pub(crate) mod signer;
