//! The verifier harness: every case runs through the native core and through
//! `dist/ocisig.wasm` in wasmtime, and the two verdicts must be byte-identical.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod support;

mod abi;
mod attestations;
mod bundles;
mod cases;
mod certificates;
mod examples;
mod keyless;
mod keytypes;
mod paths;
mod platforms;
mod progress;
mod referrers;
mod rekor;
mod schema;
mod tlog;
mod vectors;
