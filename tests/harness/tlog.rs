//! The offline transparency-log checks (`ocisig::sigstore::tlog`) on the real proofs of the
//! sigstore-conformance bundles: Rekor v1 (ECDSA P-256 checkpoints) and Rekor v2 (Ed25519
//! checkpoints with witness cosignatures). The good ones verify; the proof and checkpoint
//! failures fail, each for its own reason.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ocisig::PublicKey;
use ocisig::sigstore::tlog::{Hash, InclusionProof, TlogError, verify_inclusion};
use serde_json::Value;

use crate::support::{conformance_trusted_root, trusted_log, vectors_dir};

/// What a case's first log entry gives: the entry bytes, its proof, its checkpoint (if any)
/// and the log's id and key from the trusted root (if the root has that log).
struct Entry {
    body: Vec<u8>,
    proof: InclusionProof,
    checkpoint: Option<String>,
    log: Option<(Hash, PublicKey)>,
}

fn hash(text: &Value) -> Hash {
    BASE64
        .decode(text.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn number(text: &Value) -> u64 {
    text.as_str().unwrap().parse().unwrap()
}

fn entry(vectors: &Path, case: &Path) -> Option<Entry> {
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(case.join("bundle.sigstore.json")).ok()?).ok()?;
    let entry = bundle.pointer("/verificationMaterial/tlogEntries/0")?;
    let proof = entry.get("inclusionProof")?;
    let root = conformance_trusted_root(vectors, case);
    let log_id = BASE64.decode(entry["logId"]["keyId"].as_str()?).ok()?;
    Some(Entry {
        body: BASE64
            .decode(entry["canonicalizedBody"].as_str().unwrap())
            .unwrap(),
        proof: InclusionProof {
            log_index: number(&proof["logIndex"]),
            tree_size: number(&proof["treeSize"]),
            root_hash: hash(&proof["rootHash"]),
            hashes: proof["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(hash)
                .collect(),
        },
        checkpoint: proof
            .pointer("/checkpoint/envelope")
            .and_then(Value::as_str)
            .map(str::to_string),
        log: trusted_log(&root, &log_id),
    })
}

fn check(entry: &Entry) -> Result<(), TlogError> {
    match (&entry.checkpoint, &entry.log) {
        (Some(checkpoint), Some((log_id, key))) => {
            verify_inclusion(&entry.body, &entry.proof, checkpoint, log_id, key)
        }
        _ => entry.proof.verify(&entry.body),
    }
}

/// Whether an error is the one a case expects.
type IsReason = fn(&TlogError) -> bool;

#[test]
fn conformance_proofs_verify_and_the_broken_ones_fail_for_their_reason() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let cases = vectors.join("sigstore-conformance/test/assets/bundle-verify");
    let expected_failures: &[(&str, IsReason)] = &[
        ("inclusion-proof-corrupted-hash_fail", |e| {
            *e == TlogError::RootMismatch
        }),
        ("invalid-inclusion-proof_fail", |e| {
            matches!(e, TlogError::RootMismatch | TlogError::ProofLength { .. })
        }),
        ("checkpoint-wrong-roothash_fail", |e| {
            *e == TlogError::CheckpointMismatch
        }),
        ("checkpoint-bad-keyhint_fail", |e| {
            *e == TlogError::CheckpointSignature
        }),
        ("invalid-checkpoint-signature_fail", |e| {
            *e == TlogError::CheckpointSignature
        }),
        // Its only signature line was removed: a note without signatures is malformed.
        ("rekor2-checkpoint-missing-log-signature_fail", |e| {
            matches!(e, TlogError::MalformedCheckpoint(_))
        }),
        ("rekor2-checkpoint-no-matching-signature_fail", |e| {
            *e == TlogError::CheckpointSignature
        }),
        ("rekor2-checkpoint-missing-origin_fail", |e| {
            matches!(e, TlogError::MalformedCheckpoint(_))
        }),
        ("rekor2-checkpoint-missing-root-hash_fail", |e| {
            matches!(e, TlogError::MalformedCheckpoint(_))
        }),
        ("rekor2-checkpoint-missing-size_fail", |e| {
            matches!(e, TlogError::MalformedCheckpoint(_))
        }),
    ];
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| cases.join(name).is_dir())
        .collect();
    names.sort();
    let (mut verified, mut refused) = (0, 0);
    for name in &names {
        let Some(entry) = entry(&vectors, &cases.join(name)) else {
            continue;
        };
        let result = check(&entry);
        if let Some((_, is_reason)) = expected_failures.iter().find(|(case, _)| case == name) {
            let err = result.expect_err(name);
            assert!(is_reason(&err), "{name}: refused for another reason: {err}");
            refused += 1;
        } else if !name.ends_with("_fail") {
            // A passing case's log entry must be proved, by a log of its trusted root.
            assert!(
                entry.log.is_some(),
                "{name}: its log is not in its trusted root"
            );
            assert!(entry.checkpoint.is_some(), "{name}: no checkpoint");
            assert_eq!(result, Ok(()), "{name}");
            verified += 1;
        }
    }
    eprintln!(
        "tlog proofs: {verified} conformance entries verify, {refused} broken ones are refused"
    );
    assert_eq!(refused, expected_failures.len());
    assert!(verified >= 20, "only {verified} entries verified");
}

/// A proof checked against the log's key from the trust material, never against a key that
/// came with the entry: a checkpoint signed by another log's key is refused even when that key
/// verifies it.
#[test]
fn a_checkpoint_is_only_the_logs_under_the_logs_key() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let cases = vectors.join("sigstore-conformance/test/assets/bundle-verify");
    let v1 = entry(&vectors, &cases.join("happy-path-v0.3")).unwrap();
    let v2 = entry(&vectors, &cases.join("rekor2-happy-path")).unwrap();
    let (v1_id, v1_key) = v1.log.as_ref().unwrap();
    let (v2_id, v2_key) = v2.log.as_ref().unwrap();
    let v1_checkpoint = v1.checkpoint.as_deref().unwrap();
    assert_eq!(
        verify_inclusion(&v1.body, &v1.proof, v1_checkpoint, v1_id, v1_key),
        Ok(())
    );
    // The right hint with the wrong key, and the right key with the wrong id.
    assert_eq!(
        verify_inclusion(&v1.body, &v1.proof, v1_checkpoint, v1_id, v2_key),
        Err(TlogError::CheckpointSignature)
    );
    assert_eq!(
        verify_inclusion(&v1.body, &v1.proof, v1_checkpoint, v2_id, v1_key),
        Err(TlogError::CheckpointSignature)
    );
    // Another entry under a valid proof and checkpoint.
    assert_eq!(
        verify_inclusion(&v2.body, &v1.proof, v1_checkpoint, v1_id, v1_key),
        Err(TlogError::RootMismatch)
    );
}
