//! The parsers on arbitrary bytes (`.sig` manifests, payloads, policies, evidence, image
//! indexes, Sigstore bundles, DSSE envelopes, in-toto statements, attestation conditions,
//! X.509 certificates, RFC 3161 timestamps, trusted roots, log checkpoints, inclusion proofs):
//! an error or a value, no panic. And our base64 against the base64 crate's: the same bytes or
//! the same error, whatever the text; and image globs, compiled and matched.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    {
        use base64::Engine as _;
        let ours = ocisig::encoding::base64::decode(data).map_err(|e| e.to_string());
        let theirs = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string());
        assert_eq!(ours, theirs, "base64 of {data:?}");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some((glob, image)) = text.split_once('|')
        && let Ok(glob) = ocisig::oci::glob::Glob::new(glob)
    {
        let _ = glob.matches(image);
    }
    let _ = ocisig::oci::manifest::parse_layers(data);
    let _ = ocisig::claim::simple_signing::parse(data);
    let _ = ocisig::PolicyDocument::from_json(data);
    let _ = ocisig::Evidence::from_json(data);
    let _ = ocisig::oci::platforms::listed_manifests(data);
    let _ = ocisig::sigstore::bundle::Bundle::parse(data);
    let _ = ocisig::sigstore::bundle::parse_dsse_envelope(data);
    if let Ok(statement) = ocisig::claim::in_toto::Statement::parse(data) {
        let _ = statement.subject_for(&ocisig::Sha256Digest::of(data));
    }
    // Conditions: the document's members as pointer → test, each tried on the document itself.
    if let Ok(serde_json::Value::Object(tests)) = serde_json::from_slice::<serde_json::Value>(data)
    {
        let document = serde_json::Value::Object(tests.clone());
        for (pointer, test) in &tests {
            if let Ok(condition) = ocisig::policy::attestation::Condition::parse(pointer, test) {
                let _ = condition.check(&document);
            }
        }
    }
    let _ = ocisig::policy::attestation::predicate_type_uri(&String::from_utf8_lossy(data));
    if let Ok(certificate) = ocisig::x509::certificate::Certificate::from_der(data) {
        use ocisig::x509::authority::{Authority, verify_leaf};
        use ocisig::x509::path::Purpose;
        for purpose in [Purpose::CodeSigning, Purpose::TimeStamping] {
            let issuing = Authority::issuing(vec![certificate.clone()], (None, None), purpose);
            let _ = verify_leaf(&certificate, &[issuing], purpose, &[0]);
            let signing = Authority::signing(vec![certificate.clone(); 2], (None, None), purpose);
            let _ = signing.signs_at(0);
        }
        let _ = ocisig::sigstore::fulcio::FulcioCertificate::from_der(data);
        let _ = ocisig::sigstore::fulcio::verify_embedded_sct(&certificate, &certificate, &[]);
    }
    let _ = ocisig::x509::timestamp::verify_timestamp(data, b"signature", &[]);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ocisig::sigstore::tlog::Checkpoint::parse(text);
    }
    if let Ok(root) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ocisig::sigstore::trusted_root::TrustedRoot::from_value(&root);
    }
    // An audit path: index and size from the first 16 bytes, then 32-byte hashes.
    if data.len() >= 16 {
        let index = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let size = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
        let hashes: Vec<[u8; 32]> = data[16..]
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().unwrap_or([0; 32]))
            .collect();
        let _ = ocisig::sigstore::tlog::root_from_inclusion_proof(index, size, &[0; 32], &hashes);
    }
});
