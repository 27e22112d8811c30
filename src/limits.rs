//! Every hard limit in one place.
//!
//! Defaults are what a policy gets when it names no `limits`. Ceilings bound what a policy may
//! ask for, so that no policy can switch the caps off. The document ceilings are checked before
//! a single byte of the document is parsed.

/// Default cap on layers in a `.sig` manifest: cosign's own cap (CVE-2024-29903).
pub const DEFAULT_MAX_LAYERS: u32 = 1000;
/// Default cap on one payload blob, in bytes.
pub const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 262_144;
/// Default cap on the `.sig` manifest, in bytes.
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// The most layers any policy may allow.
pub const CEILING_MAX_LAYERS: u32 = 10_000;
/// The largest payload any policy may allow, in bytes.
pub const CEILING_MAX_PAYLOAD_BYTES: u64 = 16 * 1024 * 1024;
/// The largest manifest any policy may allow, in bytes.
pub const CEILING_MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// The largest evidence document accepted, in bytes.
pub const MAX_EVIDENCE_BYTES: usize = 64 * 1024 * 1024;
/// The most manifests an image index may list for `verifyPlatforms`.
pub const MAX_PLATFORMS: usize = 256;
/// The largest image index read for `verifyPlatforms`, in bytes (the registry client's cap on
/// any image manifest).
pub const MAX_PLATFORM_INDEX_BYTES: u64 = 4 * 1024 * 1024;
/// The most referrers of one image considered (before any is fetched), and the most referrer
/// manifests one evidence document may carry (its platforms' included).
pub const MAX_REFERRERS: usize = 1000;
/// The largest referrers list (the referrers API's answer or the fallback index) read, in bytes.
pub const MAX_REFERRERS_LIST_BYTES: u64 = 4 * 1024 * 1024;
/// The most blobs one evidence document may carry (its platforms' included): as many payloads
/// as the most layers a policy may allow, and a bundle for each referrer considered.
pub const MAX_EVIDENCE_BLOBS: usize = CEILING_MAX_LAYERS as usize + MAX_REFERRERS;
/// The largest policy document accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;
/// The most keys one policy may name.
pub const MAX_POLICY_KEYS: usize = 128;
/// The most annotations one policy may require.
pub const MAX_POLICY_ANNOTATIONS: usize = 64;
/// The longest key name, in bytes.
pub const MAX_KEY_NAME_BYTES: usize = 256;

/// The largest Rekor bundle annotation read, in bytes (real ones are a few KiB).
pub const MAX_REKOR_BUNDLE_BYTES: usize = 256 * 1024;
/// The smallest RSA modulus accepted, in bits: smaller keys are breakable or close to it.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits, which bounds the work one signature check costs.
pub const MAX_RSA_BITS: usize = 4096;
/// The longest image reference, in bytes.
pub const MAX_REFERENCE_BYTES: usize = 4096;
/// The longest repository path, in bytes (the distribution spec's limit).
pub const MAX_REPOSITORY_BYTES: usize = 255;
/// The largest Sigstore bundle accepted, in bytes.
pub const MAX_SIGSTORE_BUNDLE_BYTES: usize = 4 * 1024 * 1024;
/// The most signatures a legacy `.att` layer's DSSE envelope may carry (each is tried against
/// every key of the policy, so this bounds the work).
pub const MAX_ENVELOPE_SIGNATURES: usize = 16;
/// The most transparency-log entries one Sigstore bundle may carry.
pub const MAX_TLOG_ENTRIES: usize = 16;
/// The longest inclusion proof accepted: a tree of 2^64 leaves needs 64 hashes.
pub const MAX_PROOF_HASHES: usize = 64;
/// The largest log checkpoint accepted, in bytes.
pub const MAX_CHECKPOINT_BYTES: usize = 16 * 1024;
/// The most signature lines a checkpoint may carry (a log's and its witnesses').
pub const MAX_CHECKPOINT_SIGNATURES: usize = 16;
/// The most `signatures` entries a Kubewarden settings document may hold, which bounds the work
/// per image.
pub const MAX_SETTINGS_RULES: usize = 64;
/// The largest X.509 certificate read, in bytes (Fulcio's are about 1 KiB).
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;
/// The most certificates a chain may have, leaf included.
pub const MAX_CHAIN_LENGTH: usize = 8;
/// The largest RFC 3161 signed timestamp read, in bytes (Sigstore's are about 1.3 KiB).
pub const MAX_TIMESTAMP_BYTES: usize = 32 * 1024;
/// The most signed timestamps a bundle may carry.
pub const MAX_TIMESTAMPS: usize = 16;
/// The most identities a policy may list.
pub const MAX_POLICY_IDENTITIES: usize = 64;
/// The longest identity string or pattern accepted, in bytes.
pub const MAX_IDENTITY_BYTES: usize = 1024;
/// The most entries each section of a trusted root may list (logs, CAs, CT logs, TSAs).
pub const MAX_TRUSTED_ROOT_ENTRIES: usize = 64;
/// The most subjects an in-toto statement may list (sigstore-go's limit).
pub const MAX_SUBJECTS: usize = 1024;
/// The most digests one statement subject may carry (sigstore-go's limit).
pub const MAX_SUBJECT_DIGESTS: usize = 32;
/// The most attestation rules a policy may list.
pub const MAX_POLICY_ATTESTATIONS: usize = 32;
/// The most conditions one attestation rule may list.
pub const MAX_RULE_CONDITIONS: usize = 32;
/// The most values a `oneOf` condition may list.
pub const MAX_CONDITION_VALUES: usize = 64;
/// The largest predicate a verdict carries, as compact JSON. A larger one (a big SBOM) is
/// verified and its conditions checked all the same; the verdict then says it was left out.
pub const MAX_VERDICT_PREDICATE_BYTES: usize = 64 * 1024;
/// The most rules a policy set may hold.
pub const MAX_SET_RULES: usize = 256;
/// The most image and namespace globs one rule of a set may hold.
pub const MAX_RULE_GLOBS: usize = 64;
/// The most policies one rule of a set may offer (`anyOf`, a `ClusterImagePolicy`'s
/// authorities), which bounds the work per rule.
pub const MAX_RULE_POLICIES: usize = 16;
/// The largest TUF root metadata read (python-tuf's default).
pub const MAX_TUF_ROOT_BYTES: usize = 512_000;
/// The largest TUF timestamp metadata read (python-tuf's default).
pub const MAX_TUF_TIMESTAMP_BYTES: usize = 16_384;
/// The largest TUF snapshot metadata read (python-tuf's default).
pub const MAX_TUF_SNAPSHOT_BYTES: usize = 2_000_000;
/// The largest TUF targets metadata read, delegated roles too (python-tuf's default).
pub const MAX_TUF_TARGETS_BYTES: usize = 5_000_000;
/// The most root versions one TUF update walks through (python-tuf's default).
pub const MAX_TUF_ROOT_ROTATIONS: usize = 256;
