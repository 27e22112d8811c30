//! The verdict: verified or not, one typed reason, and what each signature examined gave.

pub(crate) mod outcome;
pub(crate) mod reason;
pub(crate) mod set;
