//! Sigstore bundles attached as OCI referrers (cosign v3's format), written by the real cosign
//! (`cosign attest --new-bundle-format`) to docker-registry, which has no referrers API, so cosign
//! keeps the referrers tag schema's index. Each verdict is compared with `cosign
//! verify-attestation --new-bundle-format` (issue #15).

use super::{path, reason, verdicts, verify};
use crate::env::{self, Key, SIGN_V1, cosign_verifies_bundle, ocisig, shell, stderr};
use crate::proxy::{self, Fault};

/// An image in its own repository, signed by each key as cosign v3 signs (a bundle referrer);
/// returns `host/repo:v1` and its digest.
fn bundle_signed(repo: &str, keys: &[&Key]) -> Option<(&'static env::Registry, String, String)> {
    let registry = env::registry()?;
    let digest = registry.push(repo, &format!("{repo}:v1"));
    for key in keys {
        key.attest(&format!("{}@{digest}", registry.image(repo)), SIGN_V1, true);
    }
    Some((registry, format!("{}:v1", registry.image(repo)), digest))
}

#[test]
fn bundles_by_every_key_type_verify_as_cosign_says() {
    let keys = [
        ("p256", Key::new("bundle-p256")),
        (
            "p384",
            Key::of_type(
                "bundle-p384",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            ),
        ),
        (
            "ed25519",
            Key::of_type("bundle-ed25519", &["-algorithm", "ED25519"]),
        ),
        (
            "rsa",
            Key::of_type(
                "bundle-rsa",
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            ),
        ),
    ];
    let mallory = Key::new("bundle-mallory");
    for (name, key) in &keys {
        let Some((registry, image, digest)) = bundle_signed(&format!("bundle-{name}"), &[key])
        else {
            return;
        };
        let output = verify(registry, &image, &["--key", path(key)]);
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        let verdict = &verdicts(&output)[0];
        assert_eq!(verdict["digest"], digest.as_str());
        assert!(
            verdict["message"]
                .as_str()
                .unwrap()
                .contains("(Sigstore bundle)"),
            "{verdict}"
        );
        assert_eq!(verdict["bundles"][0]["status"], "verified", "{verdict}");
        assert_eq!(verdict["bundles"][0]["predicateType"], SIGN_V1);
        assert!(
            cosign_verifies_bundle(&image, &key.public, SIGN_V1),
            "{name}"
        );

        let wrong = verify(registry, &image, &["--key", path(&mallory)]);
        assert_eq!(wrong.status.code(), Some(1), "{name}");
        assert!(
            !cosign_verifies_bundle(&image, &mallory.public, SIGN_V1),
            "{name}"
        );
        // A P-256 key against a bundle by another type: no key of the policy's verifies.
        let reason = reason(&wrong);
        assert!(
            reason == "no_matching_signature" || reason == "malformed_signature",
            "{name}: {reason}"
        );

        // Only the other format: nothing to verify.
        let legacy_only = verify(
            registry,
            &image,
            &["--key", path(key), "--format", "simplesigning"],
        );
        assert_eq!(super::reason(&legacy_only), "no_signatures", "{name}");
    }
}

#[test]
fn an_unsigned_image_has_no_signatures_in_either_format() {
    let alice = Key::new("bundle-none");
    let Some((registry, image, _)) = bundle_signed("bundle-none", &[]) else {
        return;
    };
    let output = verify(registry, &image, &["--key", path(&alice)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(reason(&output), "no_signatures");
    assert!(!cosign_verifies_bundle(&image, &alice.public, SIGN_V1));
}

#[test]
fn a_sig_and_a_bundle_by_two_keys_meet_a_threshold_of_two() {
    let alice = Key::new("bundle-mixed-alice");
    let bob = Key::new("bundle-mixed-bob");
    let Some((registry, image, digest)) = bundle_signed("bundle-mixed", &[&bob]) else {
        return;
    };
    alice.sign(&format!("{}@{digest}", registry.image("bundle-mixed")), &[]);
    let alice_key = format!("alice={}", path(&alice));
    let bob_key = format!("bob={}", path(&bob));
    let both = ["--key", &alice_key, "--key", &bob_key, "--threshold", "2"];
    let output = verify(registry, &image, &both);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let verdict = &verdicts(&output)[0];
    assert_eq!(
        verdict["satisfiedKeys"],
        serde_json::json!(["alice", "bob"])
    );
    assert_eq!(verdict["signatures"][0]["key"], "alice");
    assert_eq!(verdict["bundles"][0]["key"], "bob");
    // Each format alone has one key: not enough.
    for format in ["simplesigning", "bundle"] {
        let mut args = both.to_vec();
        args.extend(["--format", format]);
        assert_eq!(
            reason(&verify(registry, &image, &args)),
            "threshold_not_met",
            "{format}"
        );
    }
}

#[test]
fn an_attestation_is_never_a_signature() {
    let alice = Key::new("bundle-slsa");
    let Some(registry) = env::registry() else {
        return;
    };
    let digest = registry.push("bundle-slsa", "bundle-slsa:v1");
    let image = format!("{}:v1", registry.image("bundle-slsa"));
    let provenance = r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#;
    alice.attest_with(
        &format!("{}@{digest}", registry.image("bundle-slsa")),
        "slsaprovenance1",
        provenance,
        true,
    );
    let output = verify(registry, &image, &["--key", path(&alice)]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(reason(&output), "not_a_signature");
    let verdict = &verdicts(&output)[0];
    assert_eq!(verdict["bundles"][0]["key"], "bundle-slsa");
    assert_eq!(
        verdict["bundles"][0]["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    // cosign agrees that it is no signature, and that it is a valid attestation.
    assert!(!cosign_verifies_bundle(&image, &alice.public, SIGN_V1));
    assert!(cosign_verifies_bundle(
        &image,
        &alice.public,
        "slsaprovenance1"
    ));
}

#[test]
fn a_bundle_copied_from_another_image_or_altered_is_refused() {
    let alice = Key::new("bundle-copy");
    let Some((registry, image, digest)) = bundle_signed("bundle-copy", &[]) else {
        return;
    };
    let donor = registry.push("donor", "bundle-copy:donor");
    alice.attest(
        &format!("{}@{donor}", registry.image("bundle-copy")),
        SIGN_V1,
        true,
    );
    shell(&format!(
        "referrers_op copy {} bundle-copy {digest} {donor}",
        registry.host
    ));
    let output = verify(registry, &image, &["--key", path(&alice)]);
    assert_eq!(reason(&output), "subject_mismatch", "{output:?}");
    assert!(!cosign_verifies_bundle(&image, &alice.public, SIGN_V1));

    let Some((registry, image, digest)) = bundle_signed("bundle-altered", &[&alice]) else {
        return;
    };
    shell(&format!(
        "referrers_op tamper {} bundle-altered {digest}",
        registry.host
    ));
    let output = verify(registry, &image, &["--key", path(&alice)]);
    assert_eq!(reason(&output), "no_matching_signature", "{output:?}");
    assert!(!cosign_verifies_bundle(&image, &alice.public, SIGN_V1));

    // A referrer whose layer is of another media type is no bundle: nothing is fetched for it.
    let Some((registry, image, digest)) = bundle_signed("bundle-retyped", &[&alice]) else {
        return;
    };
    shell(&format!(
        "referrers_op retype {} bundle-retyped {digest}",
        registry.host
    ));
    let output = verify(registry, &image, &["--key", path(&alice)]);
    assert_eq!(reason(&output), "no_signatures", "{output:?}");
    assert!(!cosign_verifies_bundle(&image, &alice.public, SIGN_V1));
}

/// The referrers API path, served by the proxy from the objects cosign stored under the
/// fallback tag (which the proxy then hides).
#[test]
fn bundles_are_found_through_the_referrers_api() {
    let alice = Key::new("bundle-api");
    let Some((registry, image, _)) = bundle_signed("bundle-api", &[&alice]) else {
        return;
    };
    let proxy = proxy::start(&registry.host, Fault::ReferrersApi);
    let through = image.replace(&registry.host, &proxy);
    let output = ocisig(&[
        "verify",
        &through,
        "--key",
        path(&alice),
        "--insecure-registry",
        &proxy,
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // An image the API lists nothing for (an empty index, as a registry with the API answers).
    let unsigned = registry.push("bundle-api unsigned", "bundle-api:unsigned");
    let through = format!("{proxy}/bundle-api@{unsigned}");
    let output = ocisig(&[
        "verify",
        &through,
        "--key",
        path(&alice),
        "--insecure-registry",
        &proxy,
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(env::stdout(&output).contains("no_signatures"), "{output:?}");
}

#[test]
fn hostile_referrers_lists_end_the_fetch() {
    let alice = Key::new("bundle-hostile");
    let Some((registry, image, _)) = bundle_signed("bundle-hostile", &[&alice]) else {
        return;
    };
    for (fault, needle) in [
        (Fault::ManyReferrers(5000), "5000 referrers"),
        (Fault::EndlessReferrers, "limit"),
    ] {
        let proxy = proxy::start(&registry.host, fault);
        let through = image.replace(&registry.host, &proxy);
        let output = ocisig(&[
            "verify",
            &through,
            "--key",
            path(&alice),
            "--insecure-registry",
            &proxy,
        ]);
        assert_eq!(output.status.code(), Some(3), "{output:?}");
        assert!(stderr(&output).contains(needle), "{}", stderr(&output));
        assert!(stderr(&output).contains("nothing was verified"));
    }
    // A list that names no object the registry has: each is passed over, and the real bundle,
    // which the list leaves out, is not found.
    let proxy = proxy::start(&registry.host, Fault::ManyReferrers(3));
    let through = image.replace(&registry.host, &proxy);
    let output = ocisig(&[
        "verify",
        &through,
        "--key",
        path(&alice),
        "--insecure-registry",
        &proxy,
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(env::stdout(&output).contains("no_signatures"), "{output:?}");
}

/// An OCI image layout (image-layout 1.1) that lists the image's bundle referrers in its
/// `index.json`: verified offline, by the layout's own referrers list.
#[test]
fn a_layout_with_referrers_verifies_offline() {
    let alice = Key::new("bundle-layout");
    let mallory = Key::new("bundle-layout-mallory");
    let Some((registry, _, digest)) = bundle_signed("bundle-layout", &[&alice]) else {
        return;
    };
    let dir = env::tempdir("layout-with-referrers");
    shell(&format!(
        "save_with_referrers {} bundle-layout {digest} {}",
        registry.host,
        env::quote(dir.to_str().unwrap())
    ));
    let layout = format!("oci:{}", dir.display());
    let output = ocisig(&["verify", &layout, "--key", path(&alice), "--output", "json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(verdicts(&output)[0]["bundles"][0]["status"], "verified");
    let tagged = format!("{layout}:v1");
    let output = ocisig(&["verify", &tagged, "--key", path(&mallory)]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        env::stdout(&output).contains("no_matching_signature"),
        "{output:?}"
    );
}
