//! `verifyPlatforms`: an index verifies only when every manifest it lists verifies too.

use serde_json::{Value, json};

use crate::support::*;

const REPO: &str = "registry.example/team/multi";
const IMAGE: &str = "registry.example/team/multi:v1";

struct Index {
    text: String,
    digest: String,
    children: [String; 2],
}

fn index() -> Index {
    let children = [
        sha256(b"linux/amd64 manifest"),
        sha256(b"linux/arm64 manifest"),
    ];
    let text = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 100,
             "digest": children[0], "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 100,
             "digest": children[1], "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    })
    .to_string();
    Index {
        digest: sha256(text.as_bytes()),
        text,
        children,
    }
}

fn signed_evidence(signer: &Signer, digest: &str) -> Value {
    let layer = Layer::signed(signer, cosign_payload(digest, REPO, None));
    serde_json::from_slice(&evidence(IMAGE, digest, Some(&[layer]))).unwrap()
}

/// The index's evidence with `imageManifest` and one `platforms` entry per child given.
fn with_platforms(index: &Index, signer: &Signer, children: &[Option<Value>]) -> Vec<u8> {
    let mut document = signed_evidence(signer, &index.digest);
    document["imageManifest"] = json!(index.text);
    let mut platforms = serde_json::Map::new();
    for (digest, child) in index.children.iter().zip(children) {
        if let Some(child) = child {
            platforms.insert(
                digest.clone(),
                json!({"signatureManifest": child["signatureManifest"], "blobs": child["blobs"]}),
            );
        }
    }
    document["platforms"] = Value::Object(platforms);
    serde_json::to_vec(&document).unwrap()
}

/// Every manifest of the index signed by `signer`.
fn all_signed(signer: &Signer, index: &Index) -> [Option<Value>; 2] {
    [
        Some(signed_evidence(signer, &index.children[0])),
        Some(signed_evidence(signer, &index.children[1])),
    ]
}

#[test]
fn every_listed_manifest_must_verify() {
    let alice = Signer::new("alice", 1);
    let index = index();
    let policy = policy(&[&alice], json!({"verifyPlatforms": true}));
    let both = all_signed(&alice, &index);
    let verdict = expect(&policy, &with_platforms(&index, &alice, &both), "verified");
    assert_eq!(
        verdict["platforms"].as_array().unwrap().len(),
        2,
        "{verdict:#}"
    );
    assert_eq!(verdict["platforms"][1]["platform"], "linux/arm64/v8");
    assert_eq!(verdict["platforms"][1]["verified"], true);

    // One platform unsigned: the index alone does not do.
    let unsigned_child: Value =
        serde_json::from_slice(&evidence(IMAGE, &index.children[1], None)).unwrap();
    let one_unsigned = [
        Some(signed_evidence(&alice, &index.children[0])),
        Some(unsigned_child),
    ];
    let verdict = expect(
        &policy,
        &with_platforms(&index, &alice, &one_unsigned),
        "platform_not_verified",
    );
    let message = verdict["message"].as_str().unwrap();
    assert!(message.contains("linux/arm64/v8"), "{message}");
    assert!(message.contains("no_signatures"), "{message}");

    // One platform signed by another key, or for another digest.
    let mallory = Signer::new("mallory", 9);
    let wrong_key = [
        Some(signed_evidence(&alice, &index.children[0])),
        Some(signed_evidence(&mallory, &index.children[1])),
    ];
    expect(
        &policy,
        &with_platforms(&index, &alice, &wrong_key),
        "platform_not_verified",
    );
    let copied = [
        Some(signed_evidence(&alice, &index.children[0])),
        Some(signed_evidence(&alice, &index.children[0])),
    ];
    let verdict = expect(
        &policy,
        &with_platforms(&index, &alice, &copied),
        "platform_not_verified",
    );
    assert_eq!(verdict["platforms"][1]["reason"], "claim_digest_mismatch");

    // A platform left out of the evidence.
    let left_out = [Some(signed_evidence(&alice, &index.children[0])), None];
    let verdict = expect(
        &policy,
        &with_platforms(&index, &alice, &left_out),
        "platform_not_verified",
    );
    assert_eq!(verdict["platforms"][1]["reason"], "invalid_evidence");

    // Without the option, the index's own signature is what counts, as for cosign.
    let plain = policy_of(&alice);
    expect(
        &plain,
        &with_platforms(&index, &alice, &one_unsigned),
        "verified",
    );
}

fn policy_of(signer: &Signer) -> Vec<u8> {
    policy(&[signer], json!({}))
}

#[test]
fn the_index_bytes_must_be_the_image_and_must_be_there() {
    let alice = Signer::new("alice", 1);
    let index = index();
    let policy = policy(&[&alice], json!({"verifyPlatforms": true}));
    let both = all_signed(&alice, &index);
    // An index that drops a platform is not the index that was signed.
    let mut shorter: Value = serde_json::from_str(&index.text).unwrap();
    shorter["manifests"].as_array_mut().unwrap().pop();
    let mut document: Value =
        serde_json::from_slice(&with_platforms(&index, &alice, &both)).unwrap();
    document["imageManifest"] = json!(shorter.to_string());
    let verdict = expect(
        &policy,
        &serde_json::to_vec(&document).unwrap(),
        "invalid_evidence",
    );
    assert!(verdict["message"].as_str().unwrap().contains("hashes to"));
    // No image manifest at all.
    document.as_object_mut().unwrap().remove("imageManifest");
    expect(
        &policy,
        &serde_json::to_vec(&document).unwrap(),
        "platform_not_verified",
    );
    // An image that is not an index has no other manifest to verify.
    let image =
        json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "x", "size": 2, "digest": sha256(b"{}")}, "layers": []})
        .to_string();
    let digest = sha256(image.as_bytes());
    let mut single = signed_evidence(&alice, &digest);
    single["imageManifest"] = json!(image);
    let verdict = expect(&policy, &serde_json::to_vec(&single).unwrap(), "verified");
    assert!(verdict.get("platforms").is_none(), "{verdict:#}");
}
