//! TUF (The Update Framework, specification 1.0.x) as pure compute: metadata read and checked
//! one file at a time against what is already trusted, at a time given by the caller, and the
//! search of delegated roles for a target. The host fetches the files and keeps the trusted
//! metadata between runs; nothing here reads a clock or does I/O.

pub mod canonical;
pub mod delegation;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod metadata;
pub mod trusted;
pub mod update;
