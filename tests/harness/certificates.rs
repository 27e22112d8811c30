//! Fulcio certificates and their chains (`ocisig::x509::certificate`, the first piece of keyless
//! verification, issue #16), on every real keyless bundle at hand: each passing
//! sigstore-conformance case's leaf chains to its trusted root's CA at the time its log entry
//! proves, names its signer and OIDC issuer, and may sign code; outside that time, or against
//! a root without that CA, it does not chain.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ocisig::sigstore::fulcio::{FulcioCertificate, NoValidSct, OID_SCT_LIST, verify_embedded_sct};
use ocisig::sigstore::trusted_root::certificate_authorities as trusted_root_authorities;
use ocisig::x509::authority::{Authority, ChainError, verify_leaf};
use ocisig::x509::certificate::{AlternativeName, Certificate};
use ocisig::x509::path::Purpose;

/// The authority of `authorities` that issued `leaf`, at one time, as a code-signing path.
fn verify_chain(
    leaf: &Certificate,
    authorities: &[Authority],
    time: i64,
) -> Result<usize, ChainError> {
    verify_leaf(leaf, authorities, Purpose::CodeSigning, &[time])
}
use ocisig::sigstore::rekor::trusted_root_ct_logs;
use serde_json::Value;

use crate::support::{conformance_trusted_root, vectors_dir};

/// The leaf certificate of a bundle (v0.3 `certificate`, or the first of a chain), if it has
/// one, and the first log entry's integrated time, if not zero.
fn leaf_and_time(bundle: &Value) -> Option<(Vec<u8>, Option<i64>)> {
    let material = &bundle["verificationMaterial"];
    let raw = material["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())?;
    let time = material["tlogEntries"][0]["integratedTime"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|t| *t != 0);
    Some((BASE64.decode(raw).ok()?, time))
}

#[test]
fn conformance_leaves_chain_to_their_trusted_root_at_the_proven_time() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let cases = vectors.join("sigstore-conformance/test/assets/bundle-verify");
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("_fail"))
        .collect();
    names.sort();
    let mut chained = Vec::new();
    for name in &names {
        let dir = cases.join(name);
        let Ok(bytes) = std::fs::read(dir.join("bundle.sigstore.json")) else {
            continue;
        };
        let bundle: Value = serde_json::from_slice(&bytes).unwrap();
        let Some((der, Some(time))) = leaf_and_time(&bundle) else {
            continue;
        };
        let root = conformance_trusted_root(&vectors, &dir);
        let authorities = trusted_root_authorities(&root).expect(name);
        let fulcio = FulcioCertificate::from_der(&der).expect(name);
        let leaf = fulcio.certificate();
        let authority = verify_chain(leaf, &authorities, time).expect(name);
        // Its embedded SCT verifies under the root's CT log, over the precertificate entry
        // rebuilt from the leaf (the TBS without the SCT list) and the issuer's key hash.
        let issuer = &authorities[authority].chain()[0];
        let ct_logs = trusted_root_ct_logs(&root).expect(name);
        assert_eq!(
            verify_embedded_sct(leaf, issuer, &ct_logs),
            Ok(()),
            "{name}"
        );
        // Not under another issuer's key hash (the leaf's own), nor without the root's CT logs.
        assert_eq!(
            verify_embedded_sct(leaf, leaf, &ct_logs),
            Err(NoValidSct),
            "{name}"
        );
        assert_eq!(
            verify_embedded_sct(leaf, issuer, &[]),
            Err(NoValidSct),
            "{name}"
        );
        assert_eq!(authorities[authority].holds(), Ok(()), "{name}");
        assert!(!leaf.alternative_names().is_empty(), "{name}");
        assert!(fulcio.oidc_issuer().is_some(), "{name}");
        assert!(
            leaf.extension(OID_SCT_LIST).is_some(),
            "{name}: Fulcio embeds an SCT"
        );
        // After the leaf expired, and before it was issued, it is not valid.
        let (not_before, not_after) = leaf.validity();
        assert_eq!(
            verify_chain(leaf, &authorities, not_after + 1),
            Err(ChainError::NotValidAt(not_after + 1)),
            "{name}"
        );
        assert!(
            verify_chain(leaf, &authorities, not_before - 1).is_err(),
            "{name}"
        );
        // A root without CAs trusts nothing.
        assert_eq!(
            verify_chain(leaf, &[], time),
            Err(ChainError::Untrusted),
            "{name}"
        );
        chained.push(name.clone());
    }
    eprintln!("{} leaves chained: {chained:?}", chained.len());
    assert!(chained.len() >= 5, "{chained:?}");
}

/// The happy path's leaf, read field by field: the conformance suite's signer identity.
#[test]
fn a_fulcio_leaf_names_its_workflow_and_issuer() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let path = vectors.join(
        "sigstore-conformance/test/assets/bundle-verify/happy-path-v0.3/bundle.sigstore.json",
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let (der, _) = leaf_and_time(&bundle).unwrap();
    let fulcio = FulcioCertificate::from_der(&der).unwrap();
    let leaf = fulcio.certificate();
    assert_eq!(
        leaf.alternative_names(),
        [AlternativeName::Uri(
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into()
        )]
    );
    assert_eq!(
        fulcio.oidc_issuer(),
        Some("https://token.actions.githubusercontent.com")
    );
    // One byte changed anywhere in the signed part: the chain no longer holds, or the bytes
    // are not a certificate at all.
    let root = conformance_trusted_root(&vectors, std::path::Path::new("/nonexistent"));
    let authorities = trusted_root_authorities(&root).unwrap();
    let time = 1_710_869_186;
    assert!(verify_chain(leaf, &authorities, time).is_ok());
    let mut altered = der.clone();
    let at = der.len() / 2;
    altered[at] ^= 1;
    if let Ok(cert) = Certificate::from_der(&altered) {
        assert!(verify_chain(&cert, &authorities, time).is_err());
    }
    // A certificate with trailing bytes, or in a BER form, is refused.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(Certificate::from_der(&trailing).is_err());
}

/// The cosign v3 bundle of kubewarden-controller v1.34.0 (sigstore-rs' vectors): its leaf
/// chains to the production root at its log entry's time.
#[test]
fn a_real_cosign_v3_keyless_leaf_chains_to_the_production_root() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let bundle: Value = serde_json::from_slice(
        &std::fs::read(vectors.join("sigstore-rs/bundle_v03_kubewarden-controller_v1.34.0.json"))
            .unwrap(),
    )
    .unwrap();
    let (der, time) = leaf_and_time(&bundle).unwrap();
    let root: Value = serde_json::from_slice(
        &std::fs::read(
            vectors.join("sigstore-trust-roots/production_trusted_root.sigstore-python.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let authorities = trusted_root_authorities(&root).unwrap();
    let leaf = &Certificate::from_der(&der).unwrap();
    let authority = verify_chain(leaf, &authorities, time.unwrap()).unwrap();
    let ct_logs = trusted_root_ct_logs(&root).unwrap();
    assert_eq!(
        verify_embedded_sct(leaf, &authorities[authority].chain()[0], &ct_logs),
        Ok(())
    );
    assert!(leaf.alternative_names().iter().any(|n| matches!(n,
        AlternativeName::Uri(uri) if uri.starts_with("https://github.com/kubewarden/kubewarden-controller/"))));
}

/// The suite's `invalid-ct-key_fail`: a valid chain, and a trusted root whose CT logs are not
/// the one that signed the leaf's SCT (one of them a bare PKCS#1 RSA key, as staging still
/// lists). The chain holds, every CT log key is read, and no SCT verifies.
#[test]
fn an_sct_under_an_untrusted_ct_key_is_refused() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let dir = vectors.join("sigstore-conformance/test/assets/bundle-verify/invalid-ct-key_fail");
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    let (der, time) = leaf_and_time(&bundle).unwrap();
    let root = conformance_trusted_root(&vectors, &dir);
    let authorities = trusted_root_authorities(&root).unwrap();
    let leaf = &Certificate::from_der(&der).unwrap();
    let authority = verify_chain(leaf, &authorities, time.unwrap()).unwrap();
    let ct_logs = trusted_root_ct_logs(&root).unwrap();
    assert_eq!(ct_logs.len(), 3);
    assert_eq!(
        verify_embedded_sct(leaf, &authorities[authority].chain()[0], &ct_logs),
        Err(NoValidSct)
    );
}
