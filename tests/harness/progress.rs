//! The check order, held to the code: each keyless check of `ocisig::host::inspect::KEYLESS_CHECKS`
//! is made to fail alone, on a PKI the test makes, and must give its own status; made to fail
//! beside any later check, it must still be the one reported, so the code runs them in the
//! listed order. And the verdict's reason is the signature that got furthest whatever its
//! format (issue #29's ranking fix): a keyless bundle refused only for its identity beats a
//! `.sig` layer whose payload is missing.

use ocisig::host::inspect::KEYLESS_CHECKS;
use ocisig_testpki::{Extension, ISSUER, Proof, SIGNED_AT, SUBJECT, Spec};
use serde_json::{Value, json};

use crate::support::{
    Layer, Signer, cosign_payload, evidence_with_referrers, expect, referrer, sha256,
};

const IMAGE: &str = "registry.example/team/app:v1";

fn image_digest() -> String {
    sha256(b"the progress image")
}

/// One way to make a keyless check fail: a change to the PKI, to the bundle, or to the policy.
#[derive(Clone, Copy)]
struct Fault {
    status: &'static str,
    spec: fn(&mut Spec),
    bundle: fn(&mut Value),
    identity: &'static str,
    proof: Proof,
}

fn none_spec(_: &mut Spec) {}
fn none_bundle(_: &mut Value) {}

fn faults() -> Vec<Fault> {
    let fault = |status| Fault {
        status,
        spec: none_spec,
        bundle: none_bundle,
        identity: SUBJECT,
        proof: Proof::Both,
    };
    vec![
        Fault {
            // The leaf's key made a signature, over other bytes.
            bundle: |bundle| {
                let other = ocisig_testpki::Spec::valid()
                    .build()
                    .leaf_key()
                    .sign(b"other");
                use base64::Engine as _;
                bundle["dsseEnvelope"]["signatures"][0]["sig"] =
                    base64::engine::general_purpose::STANDARD
                        .encode(other)
                        .into();
            },
            ..fault("no_matching_signature")
        },
        Fault {
            // The entry's body is not what the log signed or proved.
            bundle: |bundle| {
                use base64::Engine as _;
                let engine = base64::engine::general_purpose::STANDARD;
                let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
                let mut body = engine
                    .decode(entry["canonicalizedBody"].as_str().unwrap())
                    .unwrap();
                body.push(b' ');
                entry["canonicalizedBody"] = engine.encode(body).into();
            },
            ..fault("tlog_verification_failed")
        },
        Fault {
            spec: |spec| spec.tsa_leaf.extensions.push(Extension::unknown_critical()),
            ..fault("timestamp_invalid")
        },
        Fault {
            proof: Proof::TimestampOnly,
            bundle: |bundle| {
                bundle["verificationMaterial"]
                    .as_object_mut()
                    .map(|m| m.remove("timestampVerificationData"));
            },
            ..fault("no_verified_time")
        },
        Fault {
            spec: |spec| spec.leaf.validity = (SIGNED_AT + 60, SIGNED_AT + 600),
            ..fault("certificate_outside_validity")
        },
        Fault {
            spec: |spec| {
                spec.intermediates[0]
                    .extensions
                    .push(Extension::unknown_critical());
            },
            ..fault("untrusted_certificate")
        },
        Fault {
            spec: |spec| spec.sct = false,
            ..fault("sct_invalid")
        },
        Fault {
            identity: "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main",
            ..fault("identity_mismatch")
        },
    ]
}

/// The verdict of the image signed by one keyless bundle with `faults` applied.
fn verdict_with(faults: &[Fault], expected: &str) -> Value {
    let mut spec = Spec::valid();
    let mut proof = Proof::Both;
    let mut identity = SUBJECT;
    for fault in faults {
        (fault.spec)(&mut spec);
        if fault.proof != Proof::Both {
            proof = fault.proof;
        }
        if fault.identity != SUBJECT {
            identity = fault.identity;
        }
    }
    let pki = spec.build();
    let digest = image_digest();
    let mut bundle: Value = serde_json::from_slice(&pki.image_bundle(&digest, proof)).unwrap();
    for fault in faults {
        (fault.bundle)(&mut bundle);
    }
    let bundle = bundle.to_string().into_bytes();
    let evidence = evidence_with_referrers(
        IMAGE,
        &digest,
        &[(referrer(&digest, &bundle), Some(bundle))],
        None,
    );
    let policy = serde_json::to_vec(&json!({
        "identities": [{"issuer": ISSUER, "subject": identity}],
        "trustedRoot": pki.trusted_root(),
    }))
    .unwrap();
    expect(&policy, &evidence, expected)
}

#[test]
fn each_keyless_check_fails_alone_with_its_own_status_in_the_listed_order() {
    let faults = faults();
    let listed: Vec<&str> = KEYLESS_CHECKS.iter().map(|c| c.status.code()).collect();
    let ours: Vec<&str> = faults.iter().map(|f| f.status).collect();
    assert_eq!(ours, listed, "one fault per listed check, in order");
    verdict_with(&[], "verified");
    for fault in &faults {
        verdict_with(&[*fault], fault.status);
    }
}

#[test]
fn an_earlier_keyless_check_is_reported_before_any_later_one() {
    let faults = faults();
    for (i, first) in faults.iter().enumerate() {
        for later in &faults[i + 1..] {
            // Without a timestamp there is none to be invalid.
            if first.status == "timestamp_invalid" && later.status == "no_verified_time" {
                continue;
            }
            let verdict = verdict_with(&[*first, *later], first.status);
            assert_eq!(
                verdict["bundles"][0]["status"], first.status,
                "{} beside {}",
                first.status, later.status
            );
        }
    }
}

/// Issue #29's ranking fix: nothing verified, a `.sig` layer stopped at its missing payload,
/// and a keyless bundle got all the way to the identity: the identity is the reason.
#[test]
fn a_keyless_bundle_that_got_further_than_a_sig_layer_gives_the_reason() {
    let spec = Spec::valid();
    let pki = spec.build();
    let digest = image_digest();
    let bundle = pki.image_bundle(&digest, Proof::Both);
    let mut layer = Layer::signed(
        &Signer::new("someone", 7),
        cosign_payload(&digest, "registry.example/team/app", None),
    );
    layer.blob = None;
    let evidence = evidence_with_referrers(
        IMAGE,
        &digest,
        &[(referrer(&digest, &bundle), Some(bundle))],
        Some(&[layer]),
    );
    let policy = serde_json::to_vec(&json!({
        "identities": [{"issuer": ISSUER, "subject": "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main"}],
        "trustedRoot": pki.trusted_root(),
    }))
    .unwrap();
    let verdict = expect(&policy, &evidence, "identity_mismatch");
    assert_eq!(verdict["signatures"][0]["status"], "payload_missing");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .starts_with("bundle sha256:"),
        "{verdict:#}"
    );
}
