//! One referrer manifest and its bundle: a Sigstore bundle referrer whose subject is this image,
//! whose bundle blob is exactly what its layer names, and whose bundle verifies
//! ([`crate::verify::bundles`]).

use alloc::format;

use crate::sigstore::referrer::{self, ReferrerError};
use crate::verdict::reason::Reason;
use crate::verify::bundles::{self, Target};
use crate::verify::context::{Context, check_blob_against};
use crate::verify::outcome::Outcome;

impl Context<'_> {
    /// The checks of one referrer manifest and its bundle: a bundle referrer whose subject is
    /// this image, whose bundle blob is exactly what its layer names, and whose bundle verifies
    /// ([`bundles::check_bundle`]).
    pub(crate) fn check_referrer(&self, manifest: &[u8], target: &Target<'_>) -> Outcome {
        let max = self.policy.limits().max_manifest_bytes;
        if u64::try_from(manifest.len()).unwrap_or(u64::MAX) > max {
            return Outcome::fail(
                Reason::LimitExceeded,
                format!(
                    "the referrer manifest is {} bytes; the limit is {max}",
                    manifest.len()
                ),
            );
        }
        let referrer = match referrer::parse_bundle_referrer(manifest) {
            Ok(referrer) => referrer,
            Err(ReferrerError::NotABundle(msg)) => {
                return Outcome::fail(
                    Reason::WrongMediaType,
                    format!("the referrer is not a Sigstore bundle: {msg}"),
                );
            }
            Err(err) => {
                return Outcome::fail(
                    Reason::MalformedBundle,
                    format!("the referrer manifest: {err}"),
                );
            }
        };
        if referrer.subject != self.evidence.digest() {
            return Outcome::fail(
                Reason::SubjectMismatch,
                format!(
                    "the referrer's subject is {}, not this image ({})",
                    referrer.subject,
                    self.evidence.digest()
                ),
            );
        }
        let max = crate::limits::MAX_SIGSTORE_BUNDLE_BYTES as u64;
        if referrer.size > max {
            return Outcome::fail(
                Reason::LimitExceeded,
                format!(
                    "the bundle is {} bytes; the most accepted is {max}",
                    referrer.size
                ),
            );
        }
        let Some(blob) = self.evidence.blob(&referrer.digest) else {
            return if self.evidence.payloads_rebuilt() {
                Outcome::fail(
                    Reason::BundleUnavailable,
                    format!(
                        "the host cannot fetch blobs, so the bundle {} could not be read",
                        referrer.digest
                    ),
                )
            } else {
                Outcome::fail(
                    Reason::PayloadMissing,
                    format!("the evidence has no blob {}", referrer.digest),
                )
            };
        };
        if let Err(failure) = check_blob_against(
            blob,
            &referrer.digest,
            referrer.size,
            "the bundle",
            "its descriptor",
        ) {
            return failure.into();
        }
        bundles::check_bundle(self.policy, blob, target)
    }
}
