//! What the engines' adapters share, beside the verification: describing keys and evidence
//! for people, the images of a Kubernetes workload, and a memo for long-lived hosts.

pub mod explain;
pub mod inspect;
pub mod memo;
pub mod workload;
