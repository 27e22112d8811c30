//! The evidence: what a host fetched for one image, how it is read, and the plan that says what
//! to fetch and what a miss means.

pub(crate) mod document;
pub mod plan;
pub mod rebuild;
