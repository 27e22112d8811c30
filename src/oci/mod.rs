//! OCI: image references, manifests, the referrers of an image, and the manifests an index
//! lists.

pub mod glob;
pub mod manifest;
pub mod platforms;
pub mod reference;
