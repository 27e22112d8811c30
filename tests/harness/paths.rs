//! Certificate path rules (issue #28; RFC 5280 §4.2 and §6, RFC 3161 §2.3), attacked one
//! fault at a time. Each case builds a Sigstore-like PKI (`ocisig-testpki`: a root, a
//! Fulcio-style intermediate and leaf with an SCT, a Rekor-style log, a timestamp authority)
//! where everything verifies, changes exactly one thing in one certificate, and has every
//! certificate issued and signed again, so that the one change is the only fault. The image is
//! signed both ways: a cosign v3 bundle (a referrer) and, for the faults a `.sig` layer can
//! show, a keyless cosign 2 `.sig` layer. Every verdict comes from the native core, the raw
//! module and the OPA module, byte-identical (`expect`).

use ocisig::x509::path::{PathError, Position};
use ocisig_testpki::{
    Extension, ISSUER, Proof, SUBJECT, Spec, Template, UNKNOWN_EXTENSION, key_usage, oid, position,
};
use serde_json::{Value, json};

use crate::support::{
    Layer, cosign_payload, evidence, evidence_with_referrers, expect, referrer, sha256,
};

const IMAGE: &str = "registry.example/team/app:v1";

fn image_digest() -> String {
    sha256(b"the pki-test image")
}

fn policy(spec: &Spec) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "identities": [{"name": "release", "issuer": ISSUER, "subject": SUBJECT}],
        "trustedRoot": spec.build().trusted_root(),
    }))
    .unwrap()
}

/// The image signed by a keyless bundle of `spec`'s PKI, proving its time as `proof` says:
/// the verdict's reason, and the bundle's message.
fn through_bundle(spec: &Spec, proof: Proof, reason: &str) -> String {
    let digest = image_digest();
    let bundle = spec.build().image_bundle(&digest, proof);
    let evidence = evidence_with_referrers(
        IMAGE,
        &digest,
        &[(referrer(&digest, &bundle), Some(bundle))],
        None,
    );
    let verdict = expect(&policy(spec), &evidence, reason);
    verdict["bundles"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The image signed by a keyless `.sig` layer of `spec`'s PKI (its Rekor bundle proves the
/// time): the verdict's reason, and the layer's message.
fn through_sig_layer(spec: &Spec, reason: &str) -> String {
    let digest = image_digest();
    let payload = cosign_payload(&digest, "registry.example/team/app", None);
    let signed = spec.build().sig_layer(&payload);
    let mut layer = Layer::signed(&crate::support::Signer::new("unused", 9), payload);
    layer.signature = Some(signed.signature);
    let mut document: Value = serde_json::from_slice(&evidence(IMAGE, &digest, Some(&[layer])))
        .expect("evidence is JSON");
    let mut manifest: Value =
        serde_json::from_str(document["signatureManifest"].as_str().unwrap()).unwrap();
    let annotations = &mut manifest["layers"][0]["annotations"];
    annotations["dev.sigstore.cosign/certificate"] = signed.certificate.into();
    annotations["dev.sigstore.cosign/bundle"] = signed.rekor_bundle.into();
    document["signatureManifest"] = manifest.to_string().into();
    let verdict = expect(
        &policy(spec),
        &serde_json::to_vec(&document).unwrap(),
        reason,
    );
    verdict["signatures"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A fault in the Fulcio-style path: refused as `untrusted_certificate` naming `says`, through
/// a bundle (each way of proving the time) and a `.sig` layer alike.
#[track_caller]
fn refused_on_the_fulcio_path(spec: &Spec, says: &str) {
    for proof in [Proof::Both, Proof::TimestampOnly, Proof::SetOnly] {
        let message = through_bundle(spec, proof, "untrusted_certificate");
        assert!(message.contains(says), "{proof:?}: {message}");
    }
    let message = through_sig_layer(spec, "untrusted_certificate");
    assert!(message.contains(says), ".sig layer: {message}");
}

/// A fault in the timestamp authority's path, with the signed timestamp as the only proven
/// time: refused as `timestamp_invalid` naming `says` (and so with a promise beside it too:
/// every timestamp a bundle carries must verify).
#[track_caller]
fn refused_on_the_tsa_path(spec: &Spec, says: &str) {
    for proof in [Proof::TimestampOnly, Proof::Both] {
        let message = through_bundle(spec, proof, "timestamp_invalid");
        assert!(message.contains(says), "{proof:?}: {message}");
    }
    // A bundle without a timestamp never consults the authority.
    through_bundle(spec, Proof::SetOnly, "verified");
}

fn replace(template: &mut Template, extension: Extension) {
    match position(template, &extension.oid) {
        Some(at) => template.extensions[at] = extension,
        None => template.extensions.push(extension),
    }
}

fn remove(template: &mut Template, oid: &str) {
    template.extensions.retain(|e| e.oid != oid);
}

#[test]
fn the_generated_pki_verifies_every_way() {
    let spec = Spec::valid();
    for proof in [Proof::Both, Proof::TimestampOnly, Proof::SetOnly] {
        let message = through_bundle(&spec, proof, "verified");
        assert!(message.contains(SUBJECT), "{message}");
    }
    through_sig_layer(&spec, "verified");
}

#[test]
fn an_unknown_critical_extension_on_the_leaf_is_refused() {
    let mut spec = Spec::valid();
    spec.leaf.extensions.push(Extension::unknown_critical());
    refused_on_the_fulcio_path(
        &spec,
        &format!(
            "the leaf certificate has a critical extension ocisig does not process \
             ({UNKNOWN_EXTENSION})"
        ),
    );
    // The same extension, not critical, is ignored as RFC 5280 allows.
    let mut spec = Spec::valid();
    let mut extension = Extension::unknown_critical();
    extension.critical = false;
    spec.leaf.extensions.push(extension);
    through_bundle(&spec, Proof::Both, "verified");
    through_sig_layer(&spec, "verified");
}

#[test]
fn an_unknown_critical_extension_on_an_intermediate_is_refused() {
    let mut spec = Spec::valid();
    spec.intermediates[0]
        .extensions
        .push(Extension::unknown_critical());
    refused_on_the_fulcio_path(
        &spec,
        &format!(
            "intermediate certificate 1 has a critical extension ocisig does not process \
             ({UNKNOWN_EXTENSION})"
        ),
    );
}

#[test]
fn an_unknown_critical_extension_on_the_trust_anchor_is_refused() {
    let mut spec = Spec::valid();
    spec.root.extensions.push(Extension::unknown_critical());
    refused_on_the_fulcio_path(
        &spec,
        &format!(
            "the trust anchor has a critical extension ocisig does not process \
             ({UNKNOWN_EXTENSION})"
        ),
    );
}

#[test]
fn an_unknown_critical_extension_on_the_tsa_certificate_is_refused() {
    let mut spec = Spec::valid();
    spec.tsa_leaf.extensions.push(Extension::unknown_critical());
    refused_on_the_tsa_path(
        &spec,
        &format!(
            "the timestamp authority's certificate path does not hold: the leaf certificate has \
             a critical extension ocisig does not process ({UNKNOWN_EXTENSION})"
        ),
    );
}

#[test]
fn an_unknown_critical_extension_on_the_tsa_root_is_refused() {
    let mut spec = Spec::valid();
    spec.tsa_root.extensions.push(Extension::unknown_critical());
    refused_on_the_tsa_path(
        &spec,
        &format!(
            "the trust anchor has a critical extension ocisig does not process ({UNKNOWN_EXTENSION})"
        ),
    );
}

#[test]
fn a_tsa_certificate_whose_timestamping_usage_is_not_critical_is_refused() {
    let mut spec = Spec::valid();
    replace(
        &mut spec.tsa_leaf,
        Extension::ext_key_usage(&[oid::TIME_STAMPING], false),
    );
    refused_on_the_tsa_path(
        &spec,
        "the leaf certificate: its timeStamping extended key usage is not critical (RFC 3161 §2.3)",
    );
}

#[test]
fn a_tsa_certificate_with_another_usage_beside_timestamping_is_refused() {
    let mut spec = Spec::valid();
    replace(
        &mut spec.tsa_leaf,
        Extension::ext_key_usage(&[oid::TIME_STAMPING, oid::CODE_SIGNING], true),
    );
    refused_on_the_tsa_path(
        &spec,
        "the leaf certificate: its extended key usage is not timeStamping alone (RFC 3161 §2.3)",
    );
}

#[test]
fn a_tsa_certificate_without_the_timestamping_usage_is_refused() {
    let mut spec = Spec::valid();
    remove(&mut spec.tsa_leaf, oid::EXT_KEY_USAGE);
    refused_on_the_tsa_path(
        &spec,
        "the leaf certificate: its extended key usage is not timeStamping alone",
    );
}

#[test]
fn a_tsa_intermediate_that_is_not_a_ca_is_refused() {
    let mut spec = Spec::valid();
    let mut intermediate = Template::ca("pki-test-tsa-intermediate", 22, None);
    replace(&mut intermediate, Extension::basic_constraints(false, None));
    spec.tsa_root = Template::ca("pki-test-tsa-root", 20, None);
    spec.tsa_intermediates = vec![intermediate];
    refused_on_the_tsa_path(
        &spec,
        "intermediate certificate 1 is not a CA (no basicConstraints cA)",
    );
    // With cA true, the same three-certificate path holds.
    spec.tsa_intermediates[0] = Template::ca("pki-test-tsa-intermediate", 22, None);
    through_bundle(&spec, Proof::TimestampOnly, "verified");
}

#[test]
fn a_path_longer_than_a_path_length_constraint_allows_is_refused() {
    // root (pathLen 2) → intermediate 2 (pathLen 0) → intermediate 1 → leaf: intermediate 2
    // allows no CA below it and has one.
    let mut spec = Spec::valid();
    spec.root = Template::ca("pki-test-root", 10, Some(2));
    let mut upper = Template::ca("pki-test-upper", 12, Some(0));
    upper
        .extensions
        .push(Extension::ext_key_usage(&[oid::CODE_SIGNING], false));
    spec.intermediates.insert(0, upper);
    refused_on_the_fulcio_path(
        &spec,
        "intermediate certificate 2 allows 0 intermediate CAs below it (pathLenConstraint) and has 1",
    );
    // The same path with pathLen 1 there holds.
    spec.intermediates[0] = {
        let mut upper = Template::ca("pki-test-upper", 12, Some(1));
        upper
            .extensions
            .push(Extension::ext_key_usage(&[oid::CODE_SIGNING], false));
        upper
    };
    through_bundle(&spec, Proof::Both, "verified");
    through_sig_layer(&spec, "verified");
    // And the anchor's own constraint counts too: pathLen 0 at the root, two CAs below it.
    spec.root = Template::ca("pki-test-root", 10, Some(0));
    refused_on_the_fulcio_path(
        &spec,
        "the trust anchor allows 0 intermediate CAs below it (pathLenConstraint) and has 2",
    );
}

#[test]
fn name_constraints_are_refused_since_ocisig_does_not_enforce_them() {
    for critical in [true, false] {
        let mut spec = Spec::valid();
        spec.intermediates[0]
            .extensions
            .push(Extension::name_constraints(critical, false, "example.com"));
        refused_on_the_fulcio_path(
            &spec,
            "intermediate certificate 1 has name constraints, which ocisig does not enforce",
        );
    }
}

#[test]
fn an_intermediate_without_key_cert_sign_is_refused() {
    let mut spec = Spec::valid();
    replace(
        &mut spec.intermediates[0],
        Extension::key_usage(&[key_usage::CRL_SIGN]),
    );
    refused_on_the_fulcio_path(
        &spec,
        "intermediate certificate 1 may not sign certificates (no keyUsage keyCertSign)",
    );
    let mut spec = Spec::valid();
    remove(&mut spec.intermediates[0], oid::KEY_USAGE);
    refused_on_the_fulcio_path(
        &spec,
        "intermediate certificate 1 may not sign certificates (no keyUsage keyCertSign)",
    );
}

#[test]
fn an_intermediate_that_is_not_a_ca_is_refused() {
    let mut spec = Spec::valid();
    replace(
        &mut spec.intermediates[0],
        Extension::basic_constraints(false, None),
    );
    refused_on_the_fulcio_path(
        &spec,
        "intermediate certificate 1 is not a CA (no basicConstraints cA)",
    );
    let mut spec = Spec::valid();
    remove(&mut spec.intermediates[0], oid::BASIC_CONSTRAINTS);
    refused_on_the_fulcio_path(
        &spec,
        "intermediate certificate 1 is not a CA (no basicConstraints cA)",
    );
}

#[test]
fn an_intermediate_whose_extended_key_usages_exclude_code_signing_is_refused() {
    let mut spec = Spec::valid();
    replace(
        &mut spec.intermediates[0],
        Extension::ext_key_usage(&["1.3.6.1.5.5.7.3.1"], false),
    );
    refused_on_the_fulcio_path(
        &spec,
        "intermediate certificate 1: its extended key usages exclude code signing",
    );
    // anyExtendedKeyUsage covers it.
    let mut spec = Spec::valid();
    replace(
        &mut spec.intermediates[0],
        Extension::ext_key_usage(&["2.5.29.37.0"], false),
    );
    through_bundle(&spec, Proof::Both, "verified");
}

/// Fulcio marks none of its extensions critical; cosign (Go's crypto/x509) and sigstore-python
/// refuse one that is, and so does ocisig, whether or not the policy would have matched it.
#[test]
fn a_fulcio_extension_marked_critical_is_refused() {
    let mut spec = Spec::valid();
    let mut issuer = Extension::fulcio_issuer(ISSUER);
    issuer.critical = true;
    replace(&mut spec.leaf, issuer);
    refused_on_the_fulcio_path(
        &spec,
        "the leaf certificate has a critical extension ocisig does not process \
         (1.3.6.1.4.1.57264.1.8)",
    );
    let mut spec = Spec::valid();
    spec.leaf.extensions.push(Extension::new(
        oid::FULCIO_BUILD_SIGNER_URI,
        true,
        ocisig_testpki::der::utf8(SUBJECT),
    ));
    refused_on_the_fulcio_path(
        &spec,
        "the leaf certificate has a critical extension ocisig does not process \
         (1.3.6.1.4.1.57264.1.9)",
    );
}

#[test]
fn a_leaf_that_may_not_sign_code_is_refused() {
    let mut spec = Spec::valid();
    replace(&mut spec.leaf, Extension::basic_constraints(true, None));
    refused_on_the_fulcio_path(&spec, "the leaf certificate: it is a CA certificate");
    let mut spec = Spec::valid();
    replace(
        &mut spec.leaf,
        Extension::ext_key_usage(&[oid::TIME_STAMPING], false),
    );
    refused_on_the_fulcio_path(
        &spec,
        "the leaf certificate: no code-signing extended key usage",
    );
    let mut spec = Spec::valid();
    replace(
        &mut spec.leaf,
        Extension::key_usage(&[key_usage::KEY_CERT_SIGN]),
    );
    refused_on_the_fulcio_path(&spec, "the leaf certificate: no digitalSignature key usage");
}

/// Every chain of every real trusted root at hand holds under these rules (production,
/// staging, and each sigstore-conformance case's own), but for one: GitHub's timestamp
/// authority, whose `timeStamping` extended key usage is not critical. RFC 3161 §2.3 says it
/// must be, and cosign and sigstore-python refuse it, as ocisig does; the rest of that root
/// still serves.
#[test]
fn every_real_trusted_root_holds_under_the_path_rules() {
    let Some(vectors) = crate::support::vectors_dir() else {
        return;
    };
    let mut roots = Vec::new();
    let mut stack = vec![vectors.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("trusted_root"))
                && path.extension().is_some_and(|e| e == "json")
            {
                roots.push(path);
            }
        }
    }
    roots.sort();
    assert!(roots.len() >= 30, "{roots:?}");
    let mut github = 0;
    for path in &roots {
        let root: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        // Some conformance roots are broken elsewhere on purpose (a log without a start): only
        // their certificate chains are read here.
        let authorities = ocisig::sigstore::trusted_root::certificate_authorities(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let timestamp_authorities = ocisig::sigstore::trusted_root::timestamp_authorities(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (i, authority) in authorities.iter().enumerate() {
            assert_eq!(authority.holds(), Ok(()), "{} CA {i}", path.display());
        }
        for (i, authority) in timestamp_authorities.iter().enumerate() {
            let subject = &root["timestampAuthorities"][i]["subject"];
            if subject["organization"] == "GitHub, Inc." {
                assert!(
                    matches!(
                        authority.holds(),
                        Err(PathError::Usage {
                            position: Position::Leaf,
                            what,
                        }) if what.contains("not critical")
                    ),
                    "{}: {:?}",
                    path.display(),
                    authority.holds()
                );
                github += 1;
                continue;
            }
            assert_eq!(authority.holds(), Ok(()), "{} TSA {i}", path.display());
        }
    }
    assert_eq!(
        github, 2,
        "GitHub's timestamp authority is in two of the roots"
    );
}
