//! `ocisig verify` and `ocisig fetch` against a real docker-registry, with signatures made by
//! the real cosign, compared with `cosign verify`; and against a proxy that misbehaves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod attestations;
mod bundles;
mod env;
mod proxy;
mod serve;
mod sets;

use env::{Key, Registry, cosign_verifies, ocisig, ocisig_with_env, stderr, stdout};
use proxy::Fault;

/// One signed image per test, in its own repository.
struct Signed {
    registry: &'static Registry,
    image: String,
    digest: String,
}

fn signed_image(repo: &str, key: &Key, sign_flags: &[&str]) -> Option<Signed> {
    let registry = env::registry()?;
    let digest = registry.push(repo, &format!("{repo}:v1"));
    let image = registry.image(repo);
    key.sign(&format!("{image}@{digest}"), sign_flags);
    Some(Signed {
        registry,
        image: format!("{image}:v1"),
        digest,
    })
}

fn verify(registry: &Registry, image: &str, extra: &[&str]) -> std::process::Output {
    run_json(registry, "verify", image, extra)
}

/// `ocisig SUBCOMMAND IMAGE --output json` against the test registry, with `extra` flags.
fn run_json(
    registry: &Registry,
    subcommand: &str,
    image: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        subcommand,
        image,
        "--insecure-registry",
        registry.host.as_str(),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    ocisig(&args)
}

fn verdicts(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn reason(output: &std::process::Output) -> String {
    let verdicts = verdicts(output);
    assert_eq!(verdicts.len(), 1, "{output:?}");
    verdicts[0]["reason"].as_str().unwrap().to_string()
}

fn path(key: &Key) -> &str {
    key.public.to_str().unwrap()
}

#[test]
fn signed_unsigned_and_wrong_key_agree_with_cosign() {
    let alice = Key::new("alice");
    let mallory = Key::new("mallory");
    let Some(signed) = signed_image("agree", &alice, &[]) else {
        return;
    };
    let registry = signed.registry;

    let ok = verify(registry, &signed.image, &["--key", path(&alice)]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let verdict = &verdicts(&ok)[0];
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["digest"], signed.digest.as_str());
    assert!(cosign_verifies(&signed.image, &alice.public, &[]));

    let wrong = verify(registry, &signed.image, &["--key", path(&mallory)]);
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(reason(&wrong), "no_matching_signature");
    assert!(!cosign_verifies(&signed.image, &mallory.public, &[]));

    let unsigned_digest = registry.push("agree-unsigned", "agree:unsigned");
    let unsigned = format!("{}:unsigned", registry.image("agree"));
    let output = verify(registry, &unsigned, &["--key", path(&alice)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(reason(&output), "no_signatures");
    assert_eq!(verdicts(&output)[0]["digest"], unsigned_digest.as_str());
    assert!(!cosign_verifies(&unsigned, &alice.public, &[]));

    // By digest, too.
    let by_digest = format!("{}@{}", registry.image("agree"), signed.digest);
    let output = verify(registry, &by_digest, &["--key", path(&alice)]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn thresholds_over_two_and_three_keys() {
    let (alice, bob, carol) = (Key::new("alice"), Key::new("bob"), Key::new("carol"));
    let Some(signed) = signed_image("threshold", &alice, &[]) else {
        return;
    };
    bob.sign(
        &format!("{}@{}", signed.registry.image("threshold"), signed.digest),
        &[],
    );
    let keys = [
        "--key",
        path(&alice),
        "--key",
        path(&bob),
        "--key",
        path(&carol),
    ];

    let mut two_of_two = keys[..4].to_vec();
    two_of_two.extend(["--threshold", "2"]);
    let output = verify(signed.registry, &signed.image, &two_of_two);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        verdicts(&output)[0]["satisfiedKeys"],
        serde_json::json!(["alice", "bob"])
    );

    let mut two_of_three = keys.to_vec();
    two_of_three.extend(["--threshold", "2"]);
    assert_eq!(
        verify(signed.registry, &signed.image, &two_of_three)
            .status
            .code(),
        Some(0)
    );

    let mut three_of_three = keys.to_vec();
    three_of_three.extend(["--threshold", "3"]);
    let output = verify(signed.registry, &signed.image, &three_of_three);
    assert_eq!(reason(&output), "threshold_not_met");

    let mut require_carol = keys.to_vec();
    require_carol.extend(["--require", "carol"]);
    assert_eq!(
        reason(&verify(signed.registry, &signed.image, &require_carol)),
        "required_key_missing"
    );

    // cosign has no thresholds; it agrees key by key.
    assert!(cosign_verifies(&signed.image, &alice.public, &[]));
    assert!(cosign_verifies(&signed.image, &bob.public, &[]));
    assert!(!cosign_verifies(&signed.image, &carol.public, &[]));
}

/// Every key type cosign signs with, signed by the real cosign, verifies in the shim (that is,
/// in the wasm module) and fails under every other key, as `cosign verify` says.
#[test]
fn every_key_type_cosign_signs_with_verifies_under_its_own_key_only() {
    let Some(registry) = env::registry() else {
        return;
    };
    let types: [(&str, &[&str]); 7] = [
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        (
            "p384",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
        (
            "p521",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        ),
        (
            "rsa2048",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "rsa3072",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        ),
        (
            "rsa4096",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
        ),
        ("ed25519", &["-algorithm", "ED25519"]),
    ];
    let keys: Vec<Key> = types
        .iter()
        .map(|(name, args)| Key::of_type(name, args))
        .collect();
    let repo = registry.image("keytypes");
    let mut images = Vec::new();
    for ((name, _), key) in types.iter().zip(&keys) {
        let digest = registry.push(&format!("keytypes-{name}"), &format!("keytypes:{name}"));
        key.sign(&format!("{repo}@{digest}"), &[]);
        images.push(format!("{repo}:{name}"));
    }
    for (i, image) in images.iter().enumerate() {
        for (j, key) in keys.iter().enumerate() {
            let output = verify(registry, image, &["--key", path(key)]);
            let verdict = &verdicts(&output)[0];
            let expected = i == j;
            assert_eq!(
                verdict["verified"], expected,
                "{} signature under {} key: {verdict:#}",
                types[i].0, types[j].0
            );
            if i == j || i + 1 == j {
                // cosign agrees (spot-checked on the diagonal and a neighbour, to keep it quick).
                assert_eq!(
                    cosign_verifies(image, &key.public, &[]),
                    expected,
                    "{image}"
                );
            }
        }
    }
}

#[test]
fn annotations_agree_with_cosign() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("annotated", &alice, &["-a", "env=prod"]) else {
        return;
    };
    let matching = verify(
        signed.registry,
        &signed.image,
        &["--key", path(&alice), "-a", "env=prod"],
    );
    assert_eq!(matching.status.code(), Some(0), "{matching:?}");
    assert!(cosign_verifies(
        &signed.image,
        &alice.public,
        &["-a", "env=prod"]
    ));

    let other = verify(
        signed.registry,
        &signed.image,
        &["--key", path(&alice), "-a", "env=dev"],
    );
    assert_eq!(reason(&other), "annotation_mismatch");
    assert!(!cosign_verifies(
        &signed.image,
        &alice.public,
        &["-a", "env=dev"]
    ));
}

#[test]
fn a_signature_manifest_copied_from_another_image_is_refused() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("copied", &alice, &[]) else {
        return;
    };
    let registry = signed.registry;
    let other_digest = registry.push("copied-other", "copied:other");
    let repo = registry.image("copied");
    let hex = |digest: &str| digest.trim_start_matches("sha256:").to_string();
    env::shell(&format!(
        "skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false \
         docker://{repo}:sha256-{}.sig docker://{repo}:sha256-{}.sig",
        hex(&signed.digest),
        hex(&other_digest)
    ));
    let other = format!("{repo}:other");
    let output = verify(registry, &other, &["--key", path(&alice)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(reason(&output), "claim_digest_mismatch");
    assert!(!cosign_verifies(&other, &alice.public, &[]));
}

#[test]
fn a_moved_tag_reports_the_digest_each_run_verified() {
    let alice = Key::new("alice");
    let Some(registry) = env::registry() else {
        return;
    };
    let repo = registry.image("moving");
    let first = registry.push("moving-1", "moving:live");
    alice.sign(&format!("{repo}@{first}"), &[]);
    let run = || {
        let output = verify(registry, &format!("{repo}:live"), &["--key", path(&alice)]);
        verdicts(&output)[0].clone()
    };
    let before = run();
    assert_eq!(before["digest"], first.as_str());
    assert_eq!(before["verified"], true);

    let second = registry.push("moving-2", "moving:live");
    let after = run();
    assert_eq!(after["digest"], second.as_str());
    assert_eq!(after["reason"], "no_signatures");
}

#[test]
fn many_images_print_in_order_with_bounded_concurrency() {
    let alice = Key::new("alice");
    let Some(registry) = env::registry() else {
        return;
    };
    let repo = registry.image("many");
    let mut images = Vec::new();
    for i in 0..6 {
        let digest = registry.push(&format!("many-{i}"), &format!("many:t{i}"));
        if i % 2 == 0 {
            alice.sign(&format!("{repo}@{digest}"), &[]);
        }
        images.push(format!("{repo}:t{i}"));
    }
    let mut args = vec!["verify"];
    args.extend(images.iter().map(String::as_str));
    args.extend([
        "--key",
        path(&alice),
        "--insecure-registry",
        registry.host.as_str(),
        "--concurrency",
        "3",
    ]);
    let output = ocisig(&args);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.contains(&format!("many:t{i}@sha256:")), "{line}");
        let expected = if i % 2 == 0 {
            "verified  "
        } else {
            "denied    "
        };
        assert!(line.starts_with(expected), "{line}");
    }
}

#[test]
fn fetch_writes_evidence_that_eval_verifies() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("fetched", &alice, &[]) else {
        return;
    };
    let dir = env::tempdir("fetch");
    let evidence = dir.join("evidence.json");
    let output = ocisig(&[
        "fetch",
        &signed.image,
        "--insecure-registry",
        &signed.registry.host,
        "-o",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let policy = dir.join("policy.json");
    let pem = std::fs::read_to_string(&alice.public).unwrap();
    std::fs::write(
        &policy,
        serde_json::to_vec(&serde_json::json!({"keys": [{"name": "alice", "publicKey": pem}]}))
            .unwrap(),
    )
    .unwrap();
    let output = ocisig(&[
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn a_yaml_policy_file_works_like_flags() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("yaml", &alice, &["-a", "team=web"]) else {
        return;
    };
    let dir = env::tempdir("yaml");
    let policy = dir.join("policy.yaml");
    let pem = std::fs::read_to_string(&alice.public).unwrap();
    let indented = pem
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect::<String>();
    std::fs::write(
        &policy,
        format!("keys:\n  - name: alice\n    publicKey: |\n{indented}annotations:\n  team: web\n"),
    )
    .unwrap();
    let output = verify(
        signed.registry,
        &signed.image,
        &["--policy", policy.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        verdicts(&output)[0]["satisfiedKeys"],
        serde_json::json!(["alice"])
    );
}

#[test]
fn cosign_save_output_verifies_offline() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("saved", &alice, &[]) else {
        return;
    };
    let dir = env::tempdir("saved").join("layout");
    let saved = std::process::Command::new("cosign")
        .args(["save", "--dir"])
        .arg(&dir)
        .arg(format!(
            "{}@{}",
            signed.registry.image("saved"),
            signed.digest
        ))
        .env("COSIGN_ALLOW_HTTP_REGISTRY", "1")
        .output()
        .unwrap();
    assert!(saved.status.success(), "{saved:?}");
    let output = ocisig(&[
        "verify",
        &format!("oci:{}", dir.display()),
        "--key",
        path(&alice),
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(verdicts(&output)[0]["digest"], signed.digest.as_str());
}

// --- Failures: never "verified", never "no signatures", always a clear error and exit 3.

#[test]
fn a_registry_that_is_down_exits_3() {
    let host = format!("127.0.0.1:{}", env::free_port());
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/keys/alice.pub");
    let output = ocisig(&[
        "verify",
        &format!("{host}/app:v1"),
        "--key",
        key.to_str().unwrap(),
        "--insecure-registry",
        &host,
    ]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(stdout(&output).is_empty());
    let message = stderr(&output);
    assert!(message.contains("cannot connect"), "{message}");
    assert!(message.contains("nothing was verified"), "{message}");
}

fn through_proxy(repo: &str, fault: Fault, extra: &[&str]) -> Option<std::process::Output> {
    let alice = Key::new("alice");
    // An annotation, so that the payload cannot be rebuilt from the reference and is fetched:
    // the blob faults reach it.
    let signed = signed_image(repo, &alice, &["-a", "payload=fetched"])?;
    let proxy = proxy::start(&signed.registry.host, fault);
    let image = signed.image.replace(&signed.registry.host, &proxy);
    let mut args = vec![
        "verify",
        image.as_str(),
        "--key",
        path(&alice),
        "--insecure-registry",
        proxy.as_str(),
    ];
    args.extend_from_slice(extra);
    let output = ocisig(&args);
    // Whatever went wrong, nothing is reported verified or unsigned.
    assert!(!stdout(&output).contains("verified  "), "{output:?}");
    assert!(!stdout(&output).contains("no_signatures"), "{output:?}");
    Some(output)
}

/// A fault that must end in exit 3 with `needle` in the message.
#[track_caller]
fn fails_clearly(repo: &str, fault: Fault, extra: &[&str], needle: &str) {
    let Some(output) = through_proxy(repo, fault, extra) else {
        return;
    };
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(stderr(&output).contains(needle), "{}", stderr(&output));
}

/// Altered payload bytes are the verifier's typed denial, as from an OCI layout (the CLI
/// tests): one meaning for one tampering, whatever the source (issue #14).
#[test]
fn corrupted_blob_bytes_are_a_typed_denial() {
    let Some(output) = through_proxy("corrupt", Fault::CorruptBlobs, &["--output", "json"]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let verdict: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(verdict["reason"], "payload_digest_mismatch", "{verdict:#}");
    assert_eq!(verdict["verified"], false);
}

#[test]
fn a_truncated_blob_is_a_clear_error() {
    fails_clearly(
        "truncated",
        Fault::TruncateBlobs,
        &[],
        "reading the blob failed",
    );
}

#[test]
fn a_stalled_registry_times_out() {
    let started = std::time::Instant::now();
    fails_clearly(
        "stalled",
        Fault::StallBlobs,
        &["--timeout", "2"],
        "timed out",
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn a_lying_digest_header_is_a_clear_error() {
    fails_clearly("lying", Fault::LyingDigestHeader, &[], "its bytes hash to");
}

#[test]
fn an_oversized_manifest_is_refused_without_reading_it_all() {
    fails_clearly("huge", Fault::HugeManifest, &[], "limit");
}

#[test]
fn other_bytes_for_a_digest_reference_are_refused() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("swapped", &alice, &[]) else {
        return;
    };
    let registry = signed.registry;
    registry.push("swapped-other", "swapped:other");
    let proxy = proxy::start(
        &registry.host,
        Fault::ManifestsByDigestFromTag("other".into()),
    );
    let image = format!("{proxy}/swapped@{}", signed.digest);
    let output = ocisig(&[
        "verify",
        &image,
        "--key",
        path(&alice),
        "--insecure-registry",
        &proxy,
    ]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(
        stderr(&output).contains("not the digest asked for"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bearer_tokens_come_from_the_docker_config_credentials() {
    let alice = Key::new("alice");
    let Some(signed) = signed_image("bearer", &alice, &[]) else {
        return;
    };
    let fault = Fault::RequireBearer {
        user: "ci".into(),
        password: "s3cret".into(),
    };
    let proxy = proxy::start(&signed.registry.host, fault);
    let image = signed.image.replace(&signed.registry.host, &proxy);
    let args = [
        "verify",
        image.as_str(),
        "--key",
        path(&alice),
        "--insecure-registry",
        proxy.as_str(),
    ];

    let anonymous = ocisig(&args);
    assert_eq!(anonymous.status.code(), Some(3), "{anonymous:?}");
    assert!(stderr(&anonymous).contains("401"), "{}", stderr(&anonymous));

    let dir = env::tempdir("auth");
    let auth_file = dir.join("auth.json");
    std::fs::write(
        &auth_file,
        format!(r#"{{"auths": {{"{proxy}": {{"auth": "Y2k6czNjcmV0"}}}}}}"#),
    )
    .unwrap();
    let output = ocisig_with_env(&args, &[("REGISTRY_AUTH_FILE", &auth_file)]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

/// The seed's "artifacts": a Helm chart pushed as an OCI artifact and an OCI 1.1 artifact
/// (`artifactType`, empty config), signed by the real cosign, verify as images do, and cosign
/// agrees (issue #14).
#[test]
fn helm_charts_and_oci_artifacts_verify_as_cosign_says() {
    let alice = Key::new("alice");
    let mallory = Key::new("mallory");
    let Some(registry) = env::registry() else {
        return;
    };
    for kind in ["helm", "artifact"] {
        let repo = format!("kinds-{kind}");
        let digest = registry.push_kind(kind, &repo, "v1");
        let image = format!("{}:v1", registry.image(&repo));
        alice.sign(&format!("{}@{digest}", registry.image(&repo)), &[]);
        let output = verify(registry, &image, &["--key", path(&alice)]);
        assert_eq!(output.status.code(), Some(0), "{kind}: {output:?}");
        assert_eq!(verdicts(&output)[0]["digest"], digest.as_str(), "{kind}");
        assert!(cosign_verifies(&image, &alice.public, &[]), "{kind}");
        let wrong = verify(registry, &image, &["--key", path(&mallory)]);
        assert_eq!(reason(&wrong), "no_matching_signature", "{kind}");
        assert!(!cosign_verifies(&image, &mallory.public, &[]), "{kind}");
    }
}

/// A multi-platform index: verified by its own digest (as cosign does), and, with
/// `--verify-platforms`, only when every manifest it lists is signed too, which is what
/// `cosign sign --recursive` does (issue #14).
#[test]
fn a_recursively_signed_index_verifies_every_platform() {
    let alice = Key::new("alice");
    let Some(registry) = env::registry() else {
        return;
    };
    let recursive = registry.push_kind("index", "kinds-index", "recursive");
    let recursive_image = format!("{}:recursive", registry.image("kinds-index"));
    alice.sign(
        &format!("{}@{recursive}", registry.image("kinds-index")),
        &["--recursive"],
    );
    let top_only = registry.push_kind("index2", "kinds-index", "top-only");
    let top_only_image = format!("{}:top-only", registry.image("kinds-index"));
    alice.sign(
        &format!("{}@{top_only}", registry.image("kinds-index")),
        &[],
    );

    for image in [&recursive_image, &top_only_image] {
        let output = verify(registry, image, &["--key", path(&alice)]);
        assert_eq!(output.status.code(), Some(0), "{image}: {output:?}");
        assert!(cosign_verifies(image, &alice.public, &[]), "{image}");
        assert!(verdicts(&output)[0].get("platforms").is_none());
    }

    let every = verify(
        registry,
        &recursive_image,
        &["--key", path(&alice), "--verify-platforms"],
    );
    assert_eq!(every.status.code(), Some(0), "{every:?}");
    let verdict = &verdicts(&every)[0];
    let platforms = verdict["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 2, "{verdict:#}");
    assert!(
        platforms.iter().all(|p| p["verified"] == true),
        "{verdict:#}"
    );
    assert_eq!(platforms[1]["platform"], "linux/arm64/v8");

    let missing = verify(
        registry,
        &top_only_image,
        &["--key", path(&alice), "--verify-platforms"],
    );
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    let verdict = &verdicts(&missing)[0];
    assert_eq!(verdict["reason"], "platform_not_verified", "{verdict:#}");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("2 of the 2 manifests"),
        "{verdict:#}"
    );
    assert_eq!(verdict["platforms"][0]["reason"], "no_signatures");

    // The same through evidence: `ocisig fetch --platforms`, then `ocisig eval`.
    let dir = env::tempdir("platforms-evidence");
    let evidence = dir.join("evidence.json");
    let fetched = ocisig(&[
        "fetch",
        &recursive_image,
        "--platforms",
        "--insecure-registry",
        &registry.host,
        "-o",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(fetched.status.code(), Some(0), "{fetched:?}");
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({"keys": [{"name": "alice", "publicKey": std::fs::read_to_string(&alice.public).unwrap()}], "verifyPlatforms": true}).to_string(),
    )
    .unwrap();
    let evaluated = ocisig(&[
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(evaluated.status.code(), Some(0), "{evaluated:?}");
}

/// A payload cosign wrote without annotations is rebuilt from the reference and digest, and
/// only then checked like a fetched one: no blob request. One with annotations is fetched.
/// (Signed for the proxy's reference, `--sign-container-identity`, which is the reference
/// verified here.)
#[test]
fn a_plain_payload_is_rebuilt_and_an_annotated_one_fetched() {
    let alice = Key::new("alice");
    let Some(registry) = env::registry() else {
        return;
    };
    for (repo, annotations, blobs) in [
        ("rebuilt", &[][..], 0),
        ("fetched", &["-a", "env=prod"][..], 1),
    ] {
        let digest = registry.push(repo, &format!("{repo}:v1"));
        let (proxy, blob_requests) = proxy::start_counting(&registry.host, Fault::CountOnly);
        let identity = format!("{proxy}/{repo}");
        let mut flags = vec!["--sign-container-identity", identity.as_str()];
        flags.extend_from_slice(annotations);
        alice.sign(&format!("{}@{digest}", registry.image(repo)), &flags);
        let output = ocisig(&[
            "verify",
            &format!("{proxy}/{repo}:v1"),
            "--key",
            path(&alice),
            "--insecure-registry",
            &proxy,
            "--format",
            "simplesigning",
        ]);
        assert_eq!(output.status.code(), Some(0), "{repo}: {output:?}");
        assert_eq!(
            blob_requests.load(std::sync::atomic::Ordering::SeqCst),
            blobs,
            "{repo}"
        );
    }
}
