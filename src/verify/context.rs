//! What every check of one image's signatures shares: the policy (or an attestation rule's
//! signers), the evidence, the repository a claim must name, and the checks of a manifest's
//! layers and of a blob against its descriptor.

use alloc::format;
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::evidence::document::Evidence;
use crate::evidence::plan::{BlobMismatch, check_blob};
use crate::oci::manifest::{self, Layer};
use crate::policy::compiled::Policy;
use crate::verdict::reason::Reason;
use crate::verify::outcome::Failure;

/// One image's signatures under one set of signers.
pub(crate) struct Context<'a> {
    /// The policy, or an attestation rule's signers.
    pub(crate) policy: &'a Policy,
    pub(crate) evidence: &'a Evidence,
    /// With `matchReference`, the repository a signature's claim must name.
    pub(crate) expected_repository: Option<&'a str>,
}

impl Context<'_> {
    /// The layers of a `.sig` or `.att` manifest (`kind`), within the policy's caps; a
    /// manifest without layers is `empty`.
    pub(crate) fn manifest_layers(
        &self,
        text: &str,
        kind: &str,
        empty: Reason,
    ) -> Result<Vec<Layer>, Failure> {
        let limits = self.policy.limits();
        let manifest_len = u64::try_from(text.len()).unwrap_or(u64::MAX);
        if manifest_len > limits.max_manifest_bytes {
            return Err(Failure(
                Reason::LimitExceeded,
                format!(
                    "{kind} manifest is {manifest_len} bytes; the limit is {}",
                    limits.max_manifest_bytes
                ),
            ));
        }
        let layers = manifest::parse_layers(text.as_bytes())
            .map_err(|msg| Failure(Reason::MalformedManifest, format!("{kind} manifest: {msg}")))?;
        if layers.is_empty() {
            return Err(Failure(empty, format!("{kind} manifest has no layers")));
        }
        let max_layers = usize::try_from(limits.max_layers).unwrap_or(usize::MAX);
        if layers.len() > max_layers {
            return Err(Failure(
                Reason::LimitExceeded,
                format!(
                    "{kind} manifest has {} layers; the limit is {max_layers}",
                    layers.len()
                ),
            ));
        }
        Ok(layers)
    }

    /// Check 1: a layer of `media_type` whose blob is exactly what the descriptor names.
    pub(crate) fn authentic_blob(&self, layer: &Layer, media_type: &str) -> Result<&[u8], Failure> {
        if layer.media_type != media_type {
            return Err(Failure(
                Reason::WrongMediaType,
                format!("media type is {:?}, not {media_type}", layer.media_type),
            ));
        }
        let max = self.policy.limits().max_payload_bytes;
        if layer.size > max {
            return Err(Failure(
                Reason::LimitExceeded,
                format!(
                    "descriptor size {} exceeds the payload limit {max}",
                    layer.size
                ),
            ));
        }
        let blob = self.evidence.blob(&layer.digest).ok_or_else(|| {
            if self.evidence.payloads_rebuilt() {
                Failure(
                    Reason::PayloadUnavailable,
                    format!(
                        "no rebuilt payload hashes to {}: the signature carries annotations or \
                         an identity the policy does not name. List every annotation it was \
                         signed with (`cosign sign -a`) in the policy's annotations, or verify \
                         evidence fetched with `ocisig fetch`",
                        layer.digest
                    ),
                )
            } else {
                Failure(
                    Reason::PayloadMissing,
                    format!("the evidence has no blob {}", layer.digest),
                )
            }
        })?;
        check_blob_against(blob, &layer.digest, layer.size, "blob", "the descriptor")?;
        Ok(blob)
    }
}

/// A blob against its descriptor (`noun` and `descriptor` name them in the message): its size
/// first, then its sha256.
///
/// # Errors
/// `payload_size_mismatch` or `payload_digest_mismatch`.
pub(crate) fn check_blob_against(
    blob: &[u8],
    digest: &Sha256Digest,
    size: u64,
    noun: &str,
    descriptor: &str,
) -> Result<(), Failure> {
    match check_blob(blob, digest, size) {
        Ok(()) => Ok(()),
        Err(BlobMismatch::Size { actual, expected }) => Err(Failure(
            Reason::PayloadSizeMismatch,
            format!("{noun} is {actual} bytes but {descriptor} says {expected}"),
        )),
        Err(BlobMismatch::Digest { actual }) => Err(Failure(
            Reason::PayloadDigestMismatch,
            format!("{noun} hashes to {actual}, not {descriptor}'s {digest}"),
        )),
    }
}
