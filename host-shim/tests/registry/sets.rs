//! Policy sets (issue #30) against the real registry, with signatures by the real cosign 2.5:
//! one set of three rules (a key-signed team repository, a bundle-signed vendor repository
//! under another key, a `static: pass` mirror) with unmatched images denied, given as an ocisig
//! set and as sigstore ClusterImagePolicy YAML, decides every image the same way, and cosign
//! agrees on each signature the set relies on.

use super::verdicts;
use crate::env::{self, Key, SIGN_V1, cosign_verifies, cosign_verifies_bundle, ocisig, stdout};

struct Images {
    registry: &'static env::Registry,
    team: String,
    team_mallory: String,
    vendor: String,
    mirror: String,
    other: String,
}

/// Five images in their own repositories: the team's signed by alice (`.sig`), another of
/// the team's by mallory, the vendor's by bob as cosign v3 signs (a bundle referrer), and an
/// unsigned mirror and stranger.
fn images(alice: &Key, bob: &Key, mallory: &Key) -> Option<Images> {
    let registry = env::registry()?;
    let push = |repo: &str| {
        let digest = registry.push(repo, &format!("{repo}:v1"));
        (
            format!("{}@{digest}", registry.image(repo)),
            format!("{}:v1", registry.image(repo)),
        )
    };
    let (at, team) = push("set-team/app");
    alice.sign(&at, &[]);
    let (at, team_mallory) = push("set-team/tool");
    mallory.sign(&at, &[]);
    let (at, vendor) = push("set-vendor/db");
    bob.attest(&at, SIGN_V1, true);
    let (_, mirror) = push("set-mirror/pause");
    let (_, other) = push("set-stranger/app");
    Some(Images {
        registry,
        team,
        team_mallory,
        vendor,
        mirror,
        other,
    })
}

fn pem(key: &Key) -> String {
    std::fs::read_to_string(&key.public).unwrap()
}

fn ocisig_set(registry: &env::Registry, alice: &Key, bob: &Key) -> serde_json::Value {
    let host = &registry.host;
    serde_json::json!({
        "unmatched": "deny",
        "rules": [
            {"name": "team", "images": [format!("{host}/set-team/*")],
             "policy": {"keys": [{"name": "alice", "publicKey": pem(alice)}],
                        "formats": ["simplesigning"]}},
            {"name": "vendor", "images": [format!("{host}/set-vendor/**")],
             "policy": {"keys": [{"name": "bob", "publicKey": pem(bob)}], "formats": ["bundle"]}},
            {"name": "mirror", "images": [format!("{host}/set-mirror/**")], "static": "pass"}
        ]
    })
}

fn cluster_image_policies(registry: &env::Registry, alice: &Key, bob: &Key) -> String {
    let host = &registry.host;
    let indent =
        |key: &Key| -> String { pem(key).lines().map(|l| format!("        {l}\n")).collect() };
    format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: team\n\
         spec:\n  images:\n  - glob: \"{host}/set-team/*\"\n  authorities:\n  - name: alice\n    key:\n      data: |\n{}\
         ---\napiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: vendor\n\
         spec:\n  images:\n  - glob: \"{host}/set-vendor/**\"\n  authorities:\n  - name: bob\n    signatureFormat: bundle\n    key:\n      data: |\n{}\
         ---\napiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata:\n  name: mirror\n\
         spec:\n  images:\n  - glob: \"{host}/set-mirror/**\"\n  authorities:\n  - static:\n      action: pass\n",
        indent(alice),
        indent(bob)
    )
}

fn verify_all(images: &Images, policy: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "verify",
        "--policy",
        policy.to_str().unwrap(),
        "--insecure-registry",
        images.registry.host.as_str(),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    for image in [
        &images.team,
        &images.team_mallory,
        &images.vendor,
        &images.mirror,
        &images.other,
    ] {
        args.push(image);
    }
    ocisig(&args)
}

/// `(allowed, reason, the rules' names)` per image.
fn decisions(output: &std::process::Output) -> Vec<(bool, String, Vec<String>)> {
    verdicts(output)
        .iter()
        .map(|v| {
            (
                v["allowed"].as_bool().unwrap(),
                v["reason"].as_str().unwrap().to_string(),
                v["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_set_and_its_cluster_image_policies_decide_every_image_alike() {
    let alice = Key::new("set-alice");
    let bob = Key::new("set-bob");
    let mallory = Key::new("set-mallory");
    let Some(images) = images(&alice, &bob, &mallory) else {
        return;
    };
    // cosign agrees on every signature the set relies on, and on the one it refuses.
    assert!(cosign_verifies(&images.team, &alice.public, &[]));
    assert!(!cosign_verifies(&images.team_mallory, &alice.public, &[]));
    assert!(cosign_verifies_bundle(&images.vendor, &bob.public, SIGN_V1));

    let dir = env::tempdir("sets");
    let set = dir.join("set.json");
    std::fs::write(&set, ocisig_set(images.registry, &alice, &bob).to_string()).unwrap();
    let cips = dir.join("cips.yaml");
    std::fs::write(&cips, cluster_image_policies(images.registry, &alice, &bob)).unwrap();

    let expected = |name: &str| vec![name.to_string()];
    let want = vec![
        (true, "verified".to_string(), expected("team")),
        (false, "no_matching_signature".to_string(), expected("team")),
        (true, "verified".to_string(), expected("vendor")),
        (true, "verified".to_string(), expected("mirror")),
        (false, "unmatched_image".to_string(), Vec::new()),
    ];
    for policy in [&set, &cips] {
        let output = verify_all(&images, policy, &[]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_eq!(decisions(&output), want, "{}", policy.display());
        let denial = &verdicts(&output)[1];
        assert!(
            denial["message"]
                .as_str()
                .unwrap()
                .starts_with("rule \"team\": "),
            "{denial}"
        );
        // The text output names the rule of each image.
        let text = ocisig(&[
            "verify",
            "--policy",
            policy.to_str().unwrap(),
            "--insecure-registry",
            images.registry.host.as_str(),
            &images.vendor,
        ]);
        assert_eq!(text.status.code(), Some(0), "{text:?}");
        let text = stdout(&text);
        assert!(text.starts_with("allowed   "), "{text}");
        assert!(text.contains("rule \"vendor\" (enforce): passed"), "{text}");
    }

    // Warn only: every image that matched a rule is admitted, with a warning naming it; the
    // stranger stays denied, and --no-match allow admits it too.
    let output = verify_all(&images, &cips, &["--warn-only"]);
    let warned = &verdicts(&output)[1];
    assert_eq!(warned["allowed"], true, "{warned}");
    assert!(
        warned["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("rule \"team\": "),
        "{warned}"
    );
    assert_eq!(verdicts(&output)[4]["allowed"], false);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let output = verify_all(&images, &set, &["--warn-only", "--no-match", "allow"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(decisions(&output).iter().all(|(allowed, _, _)| *allowed));

    // The ClusterImagePolicy key authority reads cosign's .sig tag only (no signatureFormat),
    // so bob's bundle does not satisfy a key authority that does not say `bundle`.
    let legacy_only = cluster_image_policies(images.registry, &alice, &bob)
        .replace("    signatureFormat: bundle\n", "");
    std::fs::write(&cips, legacy_only).unwrap();
    let output = verify_all(&images, &cips, &[]);
    assert!(!decisions(&output)[2].0, "{output:?}");
    assert_eq!(decisions(&output)[2].1, "no_signatures");
}

/// Signatures stored in another repository (cosign's `COSIGN_REPOSITORY`): a policy's
/// `signatureRepository` and a ClusterImagePolicy's `source[].oci` find them there, cosign
/// agrees, and without it the image has no signatures. Rules that disagree on the repository
/// leave the image unverified, saying so.
#[test]
fn signatures_in_another_repository_are_found_where_the_policy_says() {
    let alice = Key::new("set-source-alice");
    let Some(registry) = env::registry() else {
        return;
    };
    let host = &registry.host;
    let digest = registry.push("set-source/app", "set-source/app:v1");
    let image = format!("{}@{digest}", registry.image("set-source/app"));
    let store = format!("{host}/set-source/signatures");
    alice.sign_into(&image, &store);
    // cosign finds them only where they are.
    let oracle = |repository: Option<&str>| {
        let mut command = std::process::Command::new("cosign");
        if let Some(repository) = repository {
            command.env("COSIGN_REPOSITORY", repository);
        }
        command
            .args(["verify", "--key"])
            .arg(&alice.public)
            .args(["--insecure-ignore-tlog", "--allow-http-registry", &image])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(oracle(Some(&store)));
    assert!(!oracle(None));

    let dir = env::tempdir("set-source");
    // `ocisig verify` of the image under the policy file `name`, written with `text`.
    let verify_file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        ocisig(&[
            "verify",
            "--policy",
            path.to_str().unwrap(),
            "--insecure-registry",
            host,
            "--output",
            "json",
            &image,
        ])
    };
    let verify = |policy: &serde_json::Value, name: &str| verify_file(name, &policy.to_string());
    let keys = serde_json::json!([{"name": "alice", "publicKey": pem(&alice)}]);
    let elsewhere = serde_json::json!({"keys": keys, "signatureRepository": store});
    let output = verify(&elsewhere, "elsewhere.json");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let output = verify(&serde_json::json!({"keys": keys}), "here.json");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        verdicts(&output)[0]["reason"],
        "no_signatures",
        "{output:?}"
    );

    // The same as a ClusterImagePolicy's source[].oci.
    let indent: String = pem(&alice)
        .lines()
        .map(|l| format!("        {l}\n"))
        .collect();
    let cip = format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: sourced\n\
         spec:\n  images:\n  - glob: \"{host}/set-source/*\"\n  authorities:\n  - name: alice\n    source:\n    - oci: {store}\n    key:\n      data: |\n{indent}"
    );
    let output = verify_file("cips.yaml", &cip);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(verdicts(&output)[0]["rules"][0]["name"], "sourced");

    // Two rules that apply, each reading another repository: not verified, and why.
    let conflict = serde_json::json!({"rules": [
        {"name": "a", "images": ["**"], "policy": elsewhere},
        {"name": "b", "images": ["**"], "policy": {"keys": keys}}
    ]});
    let output = verify(&conflict, "conflict.json");
    assert_ne!(output.status.code(), Some(0), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = stdout(&output);
    assert!(
        stderr.contains("read signatures from") || stdout.contains("read signatures from"),
        "{output:?}"
    );
}
