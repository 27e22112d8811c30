//! What the core's own unit tests share: signers with fixed keys, and evidence, policies,
//! payloads, statements and bundles built the way cosign writes them, so that `verify`,
//! `policy`, `sigstore` and `rekor` are tested beside their code, natively, without `dist/`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{Value, json};

use crate::crypto::digest::Sha256Digest;
use crate::oci::manifest::{SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::policy::compiled::Policy;
use crate::verdict::outcome::Verdict;

/// A P-256 signer with a fixed key.
pub(crate) struct Signer {
    pub(crate) name: String,
    key: SigningKey,
}

impl Signer {
    pub(crate) fn new(name: &str, seed: u8) -> Self {
        let mut secret = [0x3cu8; 32];
        secret[0] = seed;
        secret[31] = seed.wrapping_mul(5).wrapping_add(11);
        Self {
            name: name.into(),
            key: SigningKey::from_slice(&secret).unwrap_or_else(|e| unreachable!("{e}")),
        }
    }

    pub(crate) fn public_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    pub(crate) fn public_der(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_public_key_der()
            .map(|der| der.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// An ASN.1 DER ECDSA P-256/SHA-256 signature over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: p256::ecdsa::Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    pub(crate) fn key_entry(&self) -> Value {
        json!({"name": self.name, "publicKey": self.public_pem()})
    }
}

/// A checked policy trusting `signers`, with `extra` fields merged in.
pub(crate) fn policy(signers: &[&Signer], extra: Value) -> Policy {
    let mut document = json!({"keys": signers.iter().map(|s| s.key_entry()).collect::<Vec<_>>()});
    if let (Some(document), Value::Object(extra)) = (document.as_object_mut(), extra) {
        document.extend(extra);
    }
    Policy::from_json(document.to_string().as_bytes()).unwrap_or_else(|e| unreachable!("{e}"))
}

/// A simple-signing payload as cosign 2 writes it.
pub(crate) fn cosign_payload(digest: &Sha256Digest, reference: &str) -> Vec<u8> {
    format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"{reference}\"}},\"image\":{{\
         \"docker-manifest-digest\":\"{digest}\"}},\"type\":\"cosign container image \
         signature\"}},\"optional\":null}}"
    )
    .into_bytes()
}

/// The digest the tests' image has.
pub(crate) fn image_digest() -> Sha256Digest {
    Sha256Digest::of(b"the unit-test image")
}

pub(crate) const IMAGE: &str = "registry.example/team/app:v1";
pub(crate) const REPOSITORY: &str = "registry.example/team/app";

/// One `.sig` layer: its payload, base64 signature and extra annotations.
pub(crate) struct Layer {
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: String,
    pub(crate) annotations: Value,
    /// The blob the evidence carries (`None`: left out).
    pub(crate) blob: Option<Vec<u8>>,
}

impl Layer {
    /// `signer`'s signature over `payload`.
    pub(crate) fn signed(signer: &Signer, payload: Vec<u8>) -> Self {
        Self {
            signature: BASE64.encode(signer.sign(&payload)),
            blob: Some(payload.clone()),
            payload,
            annotations: json!({}),
        }
    }
}

/// Evidence for the tests' image with these `.sig` layers (no manifest when `None`) and bundle
/// referrers (each its manifest and bundle).
pub(crate) fn evidence(layers: Option<&[Layer]>, bundles: &[Vec<u8>]) -> Vec<u8> {
    let digest = image_digest();
    let mut blobs = serde_json::Map::new();
    let manifest = layers.map(|layers| {
        let descriptors: Vec<Value> = layers
            .iter()
            .map(|layer| {
                let mut annotations = layer.annotations.clone();
                annotations[SIGNATURE_ANNOTATION] = layer.signature.clone().into();
                if let Some(blob) = &layer.blob {
                    blobs.insert(
                        Sha256Digest::of(&layer.payload).to_string(),
                        BASE64.encode(blob).into(),
                    );
                }
                json!({
                    "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
                    "size": layer.payload.len(),
                    "digest": Sha256Digest::of(&layer.payload).to_string(),
                    "annotations": annotations,
                })
            })
            .collect();
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": Sha256Digest::of(b"{}").to_string()},
            "layers": descriptors,
        })
        .to_string()
    });
    let bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
    let referrers: Vec<Value> = bundles
        .iter()
        .map(|bundle| {
            blobs.insert(
                Sha256Digest::of(bundle).to_string(),
                BASE64.encode(bundle).into(),
            );
            json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": bundle_type,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": Sha256Digest::of(b"{}").to_string()},
                "layers": [{"mediaType": bundle_type, "size": bundle.len(), "digest": Sha256Digest::of(bundle).to_string()}],
                "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": digest.to_string()},
            })
            .to_string()
            .into()
        })
        .collect();
    json!({
        "image": IMAGE,
        "digest": digest.to_string(),
        "signatureManifest": manifest,
        "blobs": blobs,
        "referrers": referrers,
    })
    .to_string()
    .into_bytes()
}

/// An in-toto statement about `digest` of `predicate_type`.
pub(crate) fn statement(digest: &Sha256Digest, predicate_type: &str) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": digest.hex()}}],
        "predicateType": predicate_type,
        "predicate": {},
    })
    .to_string()
    .into_bytes()
}

/// A v0.3 bundle of a DSSE envelope around `payload`, signed by `signer` with a key hint.
pub(crate) fn dsse_bundle(signer: &Signer, payload: &[u8]) -> Vec<u8> {
    let payload_type = "application/vnd.in-toto+json";
    let signature = signer.sign(&crate::sigstore::bundle::pae(payload_type, payload));
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "aGludA=="}},
        "dsseEnvelope": {
            "payload": BASE64.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": BASE64.encode(signature)}],
        },
    })
    .to_string()
    .into_bytes()
}

/// A v0.3 bundle of a message signature over an artifact's sha256 by `signer`.
pub(crate) fn message_bundle(signer: &Signer, artifact: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(artifact);
    // The signature is over the artifact, whose SHA-256 the verifier checks it against.
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "aGludA=="}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": BASE64.encode(digest)},
            "signature": BASE64.encode(signer.sign(artifact)),
        },
    })
    .to_string()
    .into_bytes()
}

/// Verifies the evidence document under the policy.
pub(crate) fn run(policy: &Policy, evidence: &[u8]) -> Verdict {
    crate::verify_evidence_json(policy, evidence)
}

/// The verdict as JSON, for its per-signature entries.
pub(crate) fn json_of(verdict: &Verdict) -> Value {
    serde_json::from_str(&verdict.to_json()).unwrap_or_default()
}

/// A Rekor-style log: signs SETs over the bodies the tests write.
pub(crate) struct Log(pub(crate) Signer);

impl Log {
    /// The log's id: sha256 of its key's SPKI, as hex.
    pub(crate) fn id_hex(&self) -> String {
        Sha256Digest::of(&self.0.public_der()).hex()
    }

    /// A cosign 2 Rekor bundle annotation logging `body` at `time`.
    pub(crate) fn bundle(&self, body: &Value, time: i64) -> String {
        let body = BASE64.encode(body.to_string());
        let canonical =
            json!({"body": body, "integratedTime": time, "logID": self.id_hex(), "logIndex": 42})
                .to_string();
        json!({
            "SignedEntryTimestamp": BASE64.encode(self.0.sign(canonical.as_bytes())),
            "Payload": {"body": body, "integratedTime": time, "logIndex": 42, "logID": self.id_hex()},
        })
        .to_string()
    }
}

/// A `hashedrekord` body logging this payload, base64 signature and signer.
pub(crate) fn hashedrekord(payload: &[u8], signature: &str, signer: &Signer) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": Sha256Digest::of(payload).hex()}},
            "signature": {"content": signature, "publicKey": {"content": BASE64.encode(signer.public_pem())}},
        },
    })
}
