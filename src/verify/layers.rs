//! The checks of one `.sig` or `.att` layer, in the documented order: the blob against its
//! descriptor, the signature annotation, who signed (a policy key, or keyless under the
//! certificate annotation) and the Rekor bundle, and only then what the signed payload or
//! statement says ([`crate::verify::claims`]).

use crate::encoding::base64::STANDARD as BASE64;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::oci::manifest::{Layer, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::policy::attestation::{DSSE_ENVELOPE_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION};
use crate::policy::compiled::AttestationRule;
use crate::sigstore::bundle;
use crate::sigstore::fulcio::FulcioCertificate;
use crate::sigstore::rekor::{
    self, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, LogEntry, Logged, Signer,
};
use crate::verdict::reason::Reason;
use crate::verify::claims::{self, Expected, SignatureClaims};
use crate::verify::context::Context;
use crate::verify::log;
use crate::verify::outcome::{Attested, Failure, Outcome};
use crate::verify::signer::{keyless_signer, verify_under_leaf, verifying_key};

impl Context<'_> {
    /// The checks of one layer, in the documented order. Nothing of the payload is parsed
    /// before its signature has verified.
    pub(crate) fn check_layer(&self, layer: &Layer) -> Outcome {
        let payload = match self.authentic_blob(layer, SIMPLE_SIGNING_MEDIA_TYPE) {
            Ok(bytes) => bytes,
            Err(failure) => return failure.into(),
        };
        let signature = match signature_bytes(layer) {
            Ok(bytes) => bytes,
            Err(message) => return Outcome::fail(Reason::MalformedSignature, message),
        };
        let payload_hash = Sha256Digest::of(payload);
        let signed = match self.layer_signer(
            layer,
            payload,
            Logged::Artifact {
                sha256: &payload_hash,
            },
            &signature,
        ) {
            Ok(signed) => signed,
            Err(outcome) => return outcome,
        };
        let claims = SignatureClaims {
            expected_repository: self.expected_repository,
            annotations: self.policy.annotations(),
        };
        match claims::check_payload(payload, &self.evidence.digest(), claims) {
            Ok(()) => signed,
            Err(Failure(status, message)) => signed.then_fail(status, message),
        }
    }

    /// Checks 3 and 4 of a layer whose blob is authentic: who signed `message` (the layer's
    /// signature over it), and its Rekor bundle, as the policy's mode asks.
    ///
    /// A keyless layer (cosign's certificate annotation, when the policy has identities) goes
    /// to [`Context::keyless_layer_signer`]; any other, to the policy keys. Returns a
    /// `verified` outcome naming the signer, for the caller to check the signed content; or the
    /// failure.
    pub(crate) fn layer_signer(
        &self,
        layer: &Layer,
        message: &[u8],
        logged: Logged<'_>,
        signature: &[u8],
    ) -> Result<Outcome, Outcome> {
        if !self.policy.identities().is_empty()
            && let Some(pem) = layer.annotations.get(CERTIFICATE_ANNOTATION)
        {
            return self.keyless_layer_signer(layer, message, logged, signature, pem);
        }
        let (key, algorithm) = verifying_key(self.policy, |key| key.verify(message, signature))
            .map_err(|(status, text)| Outcome::fail(status, text))?;
        let name = &self.policy.keys()[key].name;
        let signer = Signer::Key(&self.policy.keys()[key].key);
        let log_entry = self
            .check_log(layer, logged, signature, signer)
            .map_err(|Failure(status, text)| Outcome::fail_by(status, Some(key), text))?;
        Ok(Outcome {
            status: Reason::Verified,
            key: Some(key),
            message: match log_entry {
                Some(entry) => format!(
                    "signature verified with key {name:?} ({algorithm}), logged in Rekor at index {}",
                    entry.log_index
                ),
                None => format!("signature verified with key {name:?} ({algorithm})"),
            },
            log_entry,
            predicate_type: None,
            statement: None,
        })
    }

    /// A keyless layer: the certificate in the annotation (the chain annotation is never
    /// read: trust comes from the policy's root), the signature under its key, the Rekor bundle
    /// bound to this certificate (its verified integrated time is the only time a layer
    /// proves), then the keyless steps of bundles ([`bundles::keyless_signer`]).
    fn keyless_layer_signer(
        &self,
        layer: &Layer,
        message: &[u8],
        logged: Logged<'_>,
        signature: &[u8],
        pem: &str,
    ) -> Result<Outcome, Outcome> {
        let fail = |status, text: String| Outcome::fail(status, text);
        let Some(der) = crate::encoding::der::pem(pem)
            .filter(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| der)
        else {
            return Err(fail(
                Reason::MalformedSignature,
                format!("the {CERTIFICATE_ANNOTATION} annotation is not a PEM certificate"),
            ));
        };
        let leaf = FulcioCertificate::from_der(&der).map_err(|err| {
            fail(
                Reason::MalformedSignature,
                format!("the certificate: {err}"),
            )
        })?;
        let algorithm = verify_under_leaf(&leaf, |key| key.verify(message, signature))
            .map_err(|(status, text)| fail(status, text))?;
        let log_entry = self
            .check_log(layer, logged, signature, Signer::Certificate(&der))
            .map_err(|Failure(status, text)| fail(status, text))?;
        let times: Vec<i64> = log_entry.iter().filter_map(|e| e.proven_time).collect();
        let (index, described) = keyless_signer(self.policy, &leaf, &times)
            .map_err(|(status, text)| fail(status, text))?;
        Ok(Outcome {
            status: Reason::Verified,
            key: Some(self.policy.keys().len() + index),
            message: format!(
                "signature verified: {described} ({algorithm}), certificate valid when logged in \
                 Rekor at index {}",
                log_entry.map_or(0, |e| e.log_index)
            ),
            log_entry,
            predicate_type: None,
            statement: None,
        })
    }

    /// The Rekor bundle, as the policy's mode asks. Runs only after the signature verified,
    /// so the bundle is bound to the signer that verified it (a policy key, or a keyless
    /// layer's certificate).
    fn check_log(
        &self,
        layer: &Layer,
        logged: Logged<'_>,
        signature: &[u8],
        signer: Signer<'_>,
    ) -> Result<Option<LogEntry>, Failure> {
        let bundle: Vec<&String> = layer
            .annotations
            .get(BUNDLE_ANNOTATION)
            .into_iter()
            .collect();
        let entries = log::check_entries(
            self.policy.rekor_mode(),
            &bundle,
            |_, bundle| {
                rekor::verify_bundle(bundle, self.policy.log_keys(), logged, signature, signer)
                    .map_err(|err| err.to_string())
            },
            || {
                format!(
                    "the policy requires a Rekor bundle and the layer has no {BUNDLE_ANNOTATION} \
                     annotation"
                )
            },
        )?;
        Ok(entries.first().copied())
    }

    /// The checks of one `.att` layer for a rule, in order, nothing of the statement read
    /// before a signature verified:
    /// 1. a layer annotated with another predicate type is passed over (no signature checked);
    /// 2. a DSSE envelope layer whose blob is what the descriptor names;
    /// 3. the envelope's signatures (1 to [`crate::limits::MAX_ENVELOPE_SIGNATURES`]), each
    ///    over DSSE's PAE, by a signer of the rule, with its Rekor bundle as the policy's mode
    ///    asks: every signature that verifies counts for its signer, each signer once;
    /// 4. an in-toto statement with a subject whose sha256 is the image digest;
    /// 5. of the rule's predicate type: when the annotation named the rule's type, a signed
    ///    statement of another is a disagreement, and a denial.
    ///
    /// Returns one outcome per signer whose signature verified, or the first signature's
    /// failure when none did.
    pub(crate) fn check_attestation_layer(
        &self,
        layer: &Layer,
        rule: &AttestationRule,
    ) -> Vec<Attested> {
        let annotated = layer.annotations.get(PREDICATE_TYPE_ANNOTATION);
        if let Some(annotated) = annotated
            && annotated != rule.predicate_type()
        {
            return alloc::vec![
                Outcome::fail(
                    Reason::PredicateTypeMismatch,
                    format!("the layer is annotated as an attestation of type {annotated:?}"),
                )
                .into()
            ];
        }
        let blob = match self.authentic_blob(layer, DSSE_ENVELOPE_MEDIA_TYPE) {
            Ok(blob) => blob,
            Err(failure) => return alloc::vec![Outcome::from(failure).into()],
        };
        let envelope = match bundle::parse_dsse_envelope(blob) {
            Ok(envelope) => envelope,
            Err(err) => {
                return alloc::vec![
                    Outcome::fail(
                        Reason::MalformedSignature,
                        format!("the DSSE envelope: {err}"),
                    )
                    .into()
                ];
            }
        };
        let pae = bundle::pae(&envelope.payload_type, &envelope.payload);
        let logged = Logged::Envelope {
            payload_type: &envelope.payload_type,
            payload: &envelope.payload,
        };
        let mut verified: Vec<Outcome> = Vec::new();
        let mut first_failure = None;
        for signature in &envelope.signatures {
            match self.layer_signer(layer, &pae, logged, signature) {
                Ok(signed) => {
                    if !verified.iter().any(|earlier| earlier.key == signed.key) {
                        verified.push(signed);
                    }
                }
                Err(outcome) => {
                    first_failure.get_or_insert(outcome);
                }
            }
        }
        if verified.is_empty() {
            return first_failure.map(Attested::from).into_iter().collect();
        }
        verified
            .into_iter()
            .map(|signed| self.check_attested_statement(signed, &envelope, annotated, rule))
            .collect()
    }

    /// Steps 4 and 5 of [`Self::check_attestation_layer`], for one signer whose signature
    /// over the envelope verified.
    fn check_attested_statement(
        &self,
        signed: Outcome,
        envelope: &bundle::Envelope,
        annotated: Option<&String>,
        rule: &AttestationRule,
    ) -> Attested {
        match claims::check_statement(
            &envelope.payload_type,
            &envelope.payload,
            &self.evidence.digest(),
            Expected::Attestation(rule),
        ) {
            Ok(statement) => Attested::from(Outcome {
                predicate_type: Some(statement.predicate_type.clone()),
                statement: Some(Box::new(statement)),
                ..signed
            }),
            Err((Failure(status, message), predicate_type)) => {
                // The annotation named the rule's type, and the signer signed another: the
                // layer says one thing and its signer another.
                let disagreement = status == Reason::PredicateTypeMismatch && annotated.is_some();
                let message = if disagreement {
                    format!("{message}, though the layer's predicateType annotation says it is")
                } else {
                    message
                };
                Attested {
                    outcome: Outcome {
                        predicate_type,
                        ..signed.then_fail(status, message)
                    },
                    disagreement,
                }
            }
        }
    }
}

/// Check 2: the signature annotation, as standard padded base64.
fn signature_bytes(layer: &Layer) -> Result<Vec<u8>, String> {
    let encoded = layer
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .ok_or_else(|| format!("the layer has no {SIGNATURE_ANNOTATION} annotation"))?;
    BASE64
        .decode(encoded)
        .map_err(|err| format!("the signature annotation is not standard base64: {err}"))
}
