//! Every key type, signed by an independent implementation (the `openssl` command), verified
//! natively and in wasm: each key verifies its own signature and no other.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::support::{Layer, cosign_payload, evidence, expect, layer, run};

/// One key type: how openssl makes the key, and the digest and padding it signs with.
struct KeyType {
    name: &'static str,
    genpkey: &'static [&'static str],
    /// `openssl dgst` digest flag; `None` for pure Ed25519 (`pkeyutl -rawin`).
    digest: Option<&'static str>,
    sigopts: &'static [&'static str],
    /// Policy fields besides name and publicKey.
    options: fn() -> Value,
}

const KEY_TYPES: &[KeyType] = &[
    KeyType {
        name: "p256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        digest: Some("-sha256"),
        sigopts: &[],
        options: || json!({}),
    },
    KeyType {
        name: "p384-sha384",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        digest: Some("-sha384"),
        sigopts: &[],
        options: || json!({}),
    },
    KeyType {
        name: "p384-sha256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        digest: Some("-sha256"),
        sigopts: &[],
        options: || json!({}),
    },
    KeyType {
        name: "p521-sha512",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        digest: Some("-sha512"),
        sigopts: &[],
        options: || json!({}),
    },
    KeyType {
        name: "p521-sha256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        digest: Some("-sha256"),
        sigopts: &[],
        options: || json!({}),
    },
    KeyType {
        name: "rsa2048",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        digest: Some("-sha256"),
        sigopts: &[],
        options: || json!({}),
    },
    KeyType {
        name: "rsa3072-sha384",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        digest: Some("-sha384"),
        sigopts: &[],
        options: || json!({"hashAlgorithm": "sha384"}),
    },
    KeyType {
        name: "rsa4096-pss",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
        digest: Some("-sha256"),
        sigopts: &[
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ],
        options: || json!({"scheme": "pss"}),
    },
    KeyType {
        name: "ed25519",
        genpkey: &["-algorithm", "ED25519"],
        digest: None,
        sigopts: &[],
        options: || json!({}),
    },
];

/// A generated key pair and a cosign payload it signed.
struct Made {
    public_pem: String,
    layer: Layer,
}

fn openssl_available() -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but openssl is missing"
        );
        eprintln!("SKIPPED: openssl is not installed");
    }
    found
}

fn workdir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ocisig-keytypes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
    .clone()
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl").args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const IMAGE: &str = "registry.example/app";

fn make(kind: &KeyType) -> Made {
    // Tests run in parallel and may make the same key type at once: one file set per call.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = workdir().join(format!("{call}"));
    std::fs::create_dir_all(&dir).unwrap();
    let private = dir.join(format!("{}.key", kind.name));
    let public = dir.join(format!("{}.pub", kind.name));
    let payload_path = dir.join(format!("{}.payload", kind.name));
    let signature_path = dir.join(format!("{}.sig", kind.name));
    let mut genpkey = vec!["genpkey"];
    genpkey.extend_from_slice(kind.genpkey);
    genpkey.extend(["-out", path(&private)]);
    openssl(&genpkey);
    openssl(&[
        "pkey",
        "-in",
        path(&private),
        "-pubout",
        "-out",
        path(&public),
    ]);
    let payload = cosign_payload(DIGEST, IMAGE, None);
    std::fs::write(&payload_path, &payload).unwrap();
    match kind.digest {
        Some(digest) => {
            let mut args = vec!["dgst", digest, "-sign", path(&private)];
            args.extend_from_slice(kind.sigopts);
            args.extend(["-out", path(&signature_path), path(&payload_path)]);
            openssl(&args);
        }
        None => openssl(&[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            path(&private),
            "-in",
            path(&payload_path),
            "-out",
            path(&signature_path),
        ]),
    }
    let signature = BASE64.encode(std::fs::read(&signature_path).unwrap());
    Made {
        public_pem: std::fs::read_to_string(&public).unwrap(),
        layer: layer(payload, &signature),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn policy_for(name: &str, pem: &str, options: Value) -> Vec<u8> {
    let mut key = json!({"name": name, "publicKey": pem});
    if let (Some(key), Some(options)) = (key.as_object_mut(), options.as_object()) {
        key.extend(options.clone());
    }
    serde_json::to_vec(&json!({"keys": [key]})).unwrap()
}

#[test]
fn every_key_type_verifies_its_own_signature_and_no_other() {
    if !openssl_available() {
        return;
    }
    let made: Vec<Made> = KEY_TYPES.iter().map(make).collect();
    for (i, kind) in KEY_TYPES.iter().enumerate() {
        let layers = std::slice::from_ref(&made[i].layer);
        let e = evidence(IMAGE, DIGEST, Some(layers));
        let own = policy_for(kind.name, &made[i].public_pem, (kind.options)());
        let verdict = expect(&own, &e, "verified");
        eprintln!("{}: {}", kind.name, verdict["signatures"][0]["message"]);
        for (j, other) in KEY_TYPES.iter().enumerate() {
            // Two entries share a key type but not a key; every other key must fail.
            if i == j {
                continue;
            }
            let policy = policy_for(other.name, &made[j].public_pem, (other.options)());
            let verdict = run(&policy, &e);
            assert_eq!(
                verdict["verified"], false,
                "{} signature verified under {} key: {verdict:#}",
                kind.name, other.name
            );
        }
    }
}

#[test]
fn auto_names_the_hash_that_verified() {
    if !openssl_available() {
        return;
    }
    for (name, expected) in [
        ("p384-sha384", "ecdsa-p384-sha384"),
        ("p384-sha256", "ecdsa-p384-sha256"),
        ("p521-sha512", "ecdsa-p521-sha512"),
        ("p521-sha256", "ecdsa-p521-sha256"),
    ] {
        let kind = KEY_TYPES.iter().find(|k| k.name == name).unwrap();
        let made = make(kind);
        let e = evidence(IMAGE, DIGEST, Some(std::slice::from_ref(&made.layer)));
        let verdict = expect(
            &policy_for("k", &made.public_pem, json!({})),
            &e,
            "verified",
        );
        let message = verdict["signatures"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn a_fixed_hash_or_scheme_refuses_other_signatures() {
    if !openssl_available() {
        return;
    }
    let p384 = make(KEY_TYPES.iter().find(|k| k.name == "p384-sha256").unwrap());
    let e = evidence(IMAGE, DIGEST, Some(std::slice::from_ref(&p384.layer)));
    let only_384 = policy_for("k", &p384.public_pem, json!({"hashAlgorithm": "sha384"}));
    expect(&only_384, &e, "no_matching_signature");
    let only_256 = policy_for("k", &p384.public_pem, json!({"hashAlgorithm": "sha256"}));
    expect(&only_256, &e, "verified");

    let pss = make(KEY_TYPES.iter().find(|k| k.name == "rsa4096-pss").unwrap());
    let e = evidence(IMAGE, DIGEST, Some(std::slice::from_ref(&pss.layer)));
    // The default scheme is PKCS#1 v1.5, which a PSS signature does not satisfy.
    expect(
        &policy_for("k", &pss.public_pem, json!({})),
        &e,
        "no_matching_signature",
    );
}

#[test]
fn pkcs1_rsa_public_keys_are_the_same_key_as_their_spki_form() {
    if !openssl_available() {
        return;
    }
    let rsa = make(KEY_TYPES.iter().find(|k| k.name == "rsa2048").unwrap());
    let spki_path = workdir().join("pkcs1-test.pub");
    // (One test writes these names, so they cannot collide.)
    std::fs::write(&spki_path, &rsa.public_pem).unwrap();
    let pkcs1_path = workdir().join("pkcs1-test.rsa.pub");
    openssl(&[
        "rsa",
        "-pubin",
        "-in",
        path(&spki_path),
        "-RSAPublicKey_out",
        "-out",
        path(&pkcs1_path),
    ]);
    let pkcs1 = std::fs::read_to_string(&pkcs1_path).unwrap();
    assert!(pkcs1.contains("BEGIN RSA PUBLIC KEY"));
    let e = evidence(IMAGE, DIGEST, Some(std::slice::from_ref(&rsa.layer)));
    expect(&policy_for("k", &pkcs1, json!({})), &e, "verified");
    // One key under two names (one per PEM form) would count twice toward a threshold.
    let both = json!({"keys": [
        {"name": "spki", "publicKey": rsa.public_pem},
        {"name": "pkcs1", "publicKey": pkcs1},
    ]});
    let verdict = expect(&serde_json::to_vec(&both).unwrap(), &e, "invalid_policy");
    assert!(
        verdict["message"].as_str().unwrap().contains("same key"),
        "{verdict:#}"
    );
}

#[test]
fn weak_or_unsupported_keys_are_invalid_policies_that_say_why() {
    if !openssl_available() {
        return;
    }
    let dir = workdir();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "rsa1024",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
            "too weak",
        ),
        (
            "secp256k1",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:secp256k1",
            ],
            "unsupported elliptic curve",
        ),
        (
            "ed448",
            &["-algorithm", "ED448"],
            "unsupported key algorithm",
        ),
    ];
    for (name, genpkey, why) in cases {
        let private = dir.join(format!("{name}.key"));
        let public = dir.join(format!("{name}.pub"));
        let mut args = vec!["genpkey"];
        args.extend_from_slice(genpkey);
        args.extend(["-out", path(&private)]);
        openssl(&args);
        openssl(&[
            "pkey",
            "-in",
            path(&private),
            "-pubout",
            "-out",
            path(&public),
        ]);
        let pem = std::fs::read_to_string(&public).unwrap();
        let e = evidence(IMAGE, DIGEST, None);
        let verdict = expect(&policy_for(name, &pem, json!({})), &e, "invalid_policy");
        let message = verdict["message"].as_str().unwrap();
        assert!(message.contains(why), "{name}: {message}");
    }
    // hashAlgorithm on Ed25519 and scheme on a non-RSA key are refused, naming the field.
    let ed = make(KEY_TYPES.iter().find(|k| k.name == "ed25519").unwrap());
    let e = evidence(IMAGE, DIGEST, None);
    let verdict = expect(
        &policy_for("ed", &ed.public_pem, json!({"hashAlgorithm": "sha512"})),
        &e,
        "invalid_policy",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("pure Ed25519")
    );
    let verdict = expect(
        &policy_for("ed", &ed.public_pem, json!({"scheme": "pss"})),
        &e,
        "invalid_policy",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("RSA keys only")
    );
    let verdict = expect(
        &policy_for("ed", &ed.public_pem, json!({"hashAlgorithm": "md5"})),
        &e,
        "invalid_policy",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("\"md5\" is not auto, sha256, sha384 or sha512"),
        "{verdict:#}"
    );
}

/// Hosts keep instances for days: the raw module's warm instance (the `ocisig` binary) and an
/// OPA instance whose heap the host resets before every evaluation (issue #14, where a table
/// cached in a static pointed into the reset heap). Each is evaluated hundreds of times over
/// every key type and the examples, several layers a case so that keys build their tables, with
/// the policy changed between evaluations; every verdict must be the native core's.
#[test]
fn long_lived_instances_give_the_native_verdict_on_every_evaluation() {
    const ROUNDS: usize = 6;
    if !openssl_available() {
        return;
    }
    let mut cases: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    let examples = crate::support::repo_root().join("examples");
    let mut names: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("evidence.json").exists())
        .collect();
    names.sort();
    for dir in names {
        cases.push((
            dir.display().to_string(),
            std::fs::read(dir.join("policy.json")).unwrap(),
            std::fs::read(dir.join("evidence.json")).unwrap(),
        ));
    }
    for kind in KEY_TYPES {
        let made: Vec<Made> = (0..3).map(|_| make(kind)).collect();
        let keys: Vec<Value> = made
            .iter()
            .zip(["a", "b", "c"])
            .map(|(made, name)| {
                let mut key = json!({"name": name, "publicKey": made.public_pem});
                if let (Some(key), Some(options)) =
                    (key.as_object_mut(), (kind.options)().as_object())
                {
                    key.extend(options.clone());
                }
                key
            })
            .collect();
        // b and c signed; a is tried first on every layer, so every key is used repeatedly.
        let signed = evidence(
            IMAGE,
            DIGEST,
            Some(&[made[1].layer.clone(), made[2].layer.clone()]),
        );
        // The same layers with every payload changed by one byte after signing.
        let mut tampered: Value = serde_json::from_slice(&signed).unwrap();
        for blob in tampered["blobs"].as_object_mut().unwrap().values_mut() {
            let mut bytes = BASE64.decode(blob.as_str().unwrap()).unwrap();
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            *blob = json!(BASE64.encode(bytes));
        }
        cases.push((
            format!("{} tampered", kind.name),
            serde_json::to_vec(&json!({"keys": keys})).unwrap(),
            serde_json::to_vec(&tampered).unwrap(),
        ));
        for (label, policy) in [
            ("two of three", json!({"keys": keys, "threshold": 2})),
            (
                "a required",
                json!({"keys": keys, "threshold": 2, "required": ["a"]}),
            ),
            ("a alone", json!({"keys": [keys[0].clone()]})),
        ] {
            cases.push((
                format!("{} {label}", kind.name),
                serde_json::to_vec(&policy).unwrap(),
                signed.clone(),
            ));
        }
    }
    let native: Vec<String> = cases
        .iter()
        .map(|(_, policy, evidence)| ocisig::verify_json(policy, evidence).to_json())
        .collect();
    let reasons: std::collections::BTreeSet<String> = native
        .iter()
        .map(|v| serde_json::from_str::<Value>(v).unwrap()["reason"].to_string())
        .collect();
    for reason in [
        "verified",
        "required_key_missing",
        "no_matching_signature",
        "payload_digest_mismatch",
        "no_signatures",
    ] {
        assert!(reasons.contains(&format!("{reason:?}")), "{reasons:?}");
    }

    let raw = ocisig_host::VerifierModule::embedded().unwrap();
    let mut opa = crate::support::OpaInstance::new();
    let mut evaluations = 0;
    for round in 0..ROUNDS {
        let mut order: Vec<usize> = (0..cases.len())
            .map(|i| (i + round * 5) % cases.len())
            .collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (name, policy, evidence) = &cases[i];
            let wasm = raw.run(policy, evidence).unwrap();
            assert_eq!(wasm.json, native[i], "raw module, round {round}: {name}");
            assert!(opa.set_data(policy));
            assert_eq!(
                opa.evaluate(evidence),
                native[i],
                "OPA, round {round}: {name}"
            );
            // Again without new data: the data document survives the evaluation.
            assert_eq!(
                opa.evaluate(evidence),
                native[i],
                "OPA again, round {round}: {name}"
            );
            evaluations += 1;
        }
    }
    eprintln!(
        "long-lived: {evaluations} raw-module and {} OPA evaluations over {} cases agree with the native core",
        evaluations * 2,
        cases.len()
    );
}
