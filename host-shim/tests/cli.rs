//! `ocisig eval` as a user runs it: exit codes, output and help text.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/vectors.rs"]
mod vectors;
use vectors::vectors_dir;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn ocisig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocisig"))
        .args(args)
        .output()
        .expect("ocisig runs")
}

fn eval(example: &str) -> Output {
    let dir = examples().join(example);
    eval_files(&dir.join("policy.json"), &dir.join("evidence.json"))
}

fn eval_files(policy: &Path, evidence: &Path) -> Output {
    ocisig(&[
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
    ])
}

fn verdict(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one verdict line: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn eval_exits_0_when_verified_and_prints_the_verdict() {
    let output = eval("signed");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let v = verdict(&output);
    assert_eq!(v["verified"], true);
    assert_eq!(v["reason"], "verified");
}

#[test]
fn eval_exits_1_with_the_reason_when_not_verified() {
    for (example, reason) in [
        ("wrong-key", "no_matching_signature"),
        ("other-image", "claim_digest_mismatch"),
        ("unsigned", "no_signatures"),
    ] {
        let output = eval(example);
        assert_eq!(output.status.code(), Some(1), "{example}: {output:?}");
        assert_eq!(verdict(&output)["reason"], reason, "{example}");
    }
}

#[test]
fn eval_exits_1_for_an_invalid_policy_document() {
    // A policy that parses as a file but breaks a rule is a verdict, not a usage error.
    let dir = tempdir();
    let policy = dir.join("policy.json");
    std::fs::write(&policy, br#"{"keys":[]}"#).unwrap();
    let evidence = examples().join("signed/evidence.json");
    let output = eval_files(&policy, &evidence);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(verdict(&output)["reason"], "invalid_policy");
}

#[test]
fn eval_exits_2_for_unreadable_files_and_bad_usage() {
    let evidence = examples().join("signed/evidence.json");
    let output = ocisig(&[
        "eval",
        "--policy",
        "/nonexistent/policy.json",
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read policy file /nonexistent/policy.json"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert_eq!(ocisig(&["eval"]).status.code(), Some(2));
    assert_eq!(ocisig(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn eval_refuses_a_module_that_is_not_an_ocisig_module() {
    let dir = tempdir();
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"\0asm junk").unwrap();
    let policy = examples().join("signed/policy.json");
    let evidence = examples().join("signed/evidence.json");
    let output = ocisig(&[
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
        "--module",
        junk.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot load module"));
}

#[test]
fn help_teaches_with_examples_and_exit_codes() {
    for args in [
        &["--help"][..],
        &["eval", "--help"][..],
        &["verify", "--help"][..],
        &["verify-bundle", "--help"][..],
        &["verify-attestation", "--help"][..],
    ] {
        let output = ocisig(args);
        assert_eq!(output.status.code(), Some(0));
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("Exit status:"), "{help}");
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ocisig-cli-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn layout() -> String {
    format!("oci:{}", examples().join("signed/layout").display())
}

fn key(name: &str) -> String {
    examples()
        .join(format!("keys/{name}.pub"))
        .display()
        .to_string()
}

#[test]
fn verify_checks_a_cosign_saved_layout() {
    let output = ocisig(&["verify", &layout(), "--key", &key("alice")]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(line.starts_with("verified  oci:"), "{line}");
    assert!(line.contains("@sha256:"), "{line}");

    let output = ocisig(&["verify", &layout(), "--key", &key("mallory")]);
    assert_eq!(output.status.code(), Some(1));
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(
        line.starts_with("denied    ") && line.contains("no_matching_signature"),
        "{line}"
    );
}

#[test]
fn verify_builds_the_policy_from_flags() {
    let two = [
        "verify",
        &layout(),
        "--key",
        &key("alice"),
        "--key",
        &key("bob"),
        "--threshold",
        "2",
    ];
    let output = ocisig(&two.map(|s| s as &str));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("threshold_not_met"));

    let named = format!("signer={}", key("alice"));
    let output = ocisig(&[
        "verify",
        &layout(),
        "--key",
        &named,
        "--require",
        "signer",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        verdict(&output)["satisfiedKeys"],
        serde_json::json!(["signer"])
    );

    let output = ocisig(&[
        "verify",
        &layout(),
        "--key",
        &key("alice"),
        "-a",
        "env=prod",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(verdict(&output)["reason"], "annotation_mismatch");
}

#[test]
fn verify_exits_2_for_policy_errors_and_3_for_fetch_errors() {
    let output = ocisig(&["verify", &layout()]);
    assert_eq!(output.status.code(), Some(2), "no keys: {output:?}");
    let output = ocisig(&[
        "verify",
        &layout(),
        "--key",
        &key("alice"),
        "--threshold",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("threshold"));
    let output = ocisig(&["verify", "oci:/nonexistent/layout", "--key", &key("alice")]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        output.stdout.is_empty(),
        "a fetch failure is never reported as a verdict"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/layout"));
}

#[test]
fn fetch_writes_evidence_that_eval_accepts() {
    let dir = tempdir();
    let evidence = dir.join("evidence.json");
    let output = ocisig(&["fetch", &layout(), "-o", evidence.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let fetched: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(examples().join("signed/evidence.json")).unwrap())
            .unwrap();
    // The layout and the registry give the same digest, manifest and blobs.
    for field in ["digest", "signatureManifest", "blobs"] {
        assert_eq!(fetched[field], recorded[field], "{field}");
    }
    let policy = examples().join("signed/policy.json");
    let output = eval_files(&policy, &evidence);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_layout_whose_bytes_do_not_match_their_digests_is_refused() {
    let source = examples().join("signed/layout");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(source.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    let digest_of = |kind: &str| {
        manifests
            .iter()
            .find(|m| m["annotations"]["kind"] == kind)
            .unwrap()["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string()
    };
    let sig_manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            source
                .join("blobs/sha256")
                .join(digest_of("dev.cosignproject.cosign/sigs")),
        )
        .unwrap(),
    )
    .unwrap();
    let payload = sig_manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();

    // The image manifest altered: the layout cannot be read at all.
    let copy = copy_layout(&source, "image");
    flip_last_byte(
        &copy
            .join("blobs/sha256")
            .join(digest_of("dev.cosignproject.cosign/image")),
    );
    let output = ocisig(&[
        "verify",
        &format!("oci:{}", copy.display()),
        "--key",
        &key("alice"),
    ]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("hashes to"));

    // The payload altered: the verifier checks it against its descriptor and names the
    // mismatch, exactly as for a registry that serves altered bytes.
    let copy = copy_layout(&source, "payload");
    flip_last_byte(&copy.join("blobs/sha256").join(&payload));
    let output = ocisig(&[
        "verify",
        &format!("oci:{}", copy.display()),
        "--key",
        &key("alice"),
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(verdict(&output)["reason"], "payload_digest_mismatch");
}

fn copy_layout(source: &std::path::Path, name: &str) -> PathBuf {
    let target = tempdir().join(name);
    std::fs::create_dir_all(target.join("blobs/sha256")).unwrap();
    for file in ["index.json", "oci-layout"] {
        std::fs::copy(source.join(file), target.join(file)).unwrap();
    }
    for entry in std::fs::read_dir(source.join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            target.join("blobs/sha256").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    target
}

fn flip_last_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn rekor_flags_require_a_bundle_the_example_does_not_have() {
    // The bundled example was signed with --tlog-upload=false, so it has no Rekor bundle.
    let output = ocisig(&[
        "verify",
        &layout(),
        "--key",
        &key("alice"),
        "--rekor-key",
        &key("bob"),
        "--rekor-mode",
        "require",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(verdict(&output)["reason"], "tlog_missing");

    let bad_mode = ocisig(&[
        "verify",
        &layout(),
        "--key",
        &key("alice"),
        "--rekor-mode",
        "often",
    ]);
    assert_eq!(bad_mode.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_mode.stderr).contains("require, verify-if-present or ignore")
    );
}

/// The sigstore-conformance suite's key-based cases, called as its CLI protocol calls a
/// client (`verify-bundle --bundle FILE --key KEY [--trusted-root FILE] FILE_OR_DIGEST`), by
/// file and by digest: the two that pass exit 0, the two that fail do not (issue #15).
#[test]
fn verify_bundle_passes_the_managed_key_conformance_cases() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let assets = vectors.join("sigstore-conformance/test/assets");
    let artifact = assets.join("a.txt");
    let digest = ocisig::Sha256Digest::of(&std::fs::read(&artifact).unwrap()).to_string();
    let mut cases = 0;
    for entry in std::fs::read_dir(assets.join("bundle-verify")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("managed-key") {
            continue;
        }
        cases += 1;
        for target in [artifact.to_str().unwrap(), digest.as_str()] {
            let bundle = dir.join("bundle.sigstore.json");
            let mut args = vec!["verify-bundle", "--bundle", bundle.to_str().unwrap()];
            let key = dir.join("key.pub");
            if key.exists() {
                args.extend(["--key", key.to_str().unwrap()]);
            }
            let root = dir.join("trusted_root.json");
            if root.exists() {
                args.extend(["--trusted-root", root.to_str().unwrap()]);
            }
            args.push(target);
            let output = ocisig(&args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if name.ends_with("_fail") {
                assert_ne!(output.status.code(), Some(0), "{name}: {output:?}");
            } else {
                assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
                assert!(String::from_utf8_lossy(&output.stdout).starts_with("verified  "));
            }
            // The embedded root is named, with its age, whenever it is used.
            assert_eq!(
                stderr.contains("embedded Sigstore production trusted root"),
                !root.exists() && key.exists(),
                "{name}: {stderr}"
            );
        }
    }
    assert_eq!(cases, 4);
}

#[test]
fn verify_attestation_asks_for_a_type_and_finds_none_on_a_signed_only_image() {
    // No type and no policy: a usage error that says what to give.
    let output = ocisig(&["verify-attestation", &layout(), "--key", &key("alice")]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--type TYPE"), "{stderr}");
    // A policy file without attestation rules is no better.
    let policy = examples().join("signed/policy.json");
    let output = ocisig(&[
        "verify-attestation",
        &layout(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    // The signed example has a signature and no attestation: denied, for that reason, and its
    // signature does not stand in for one.
    let output = ocisig(&[
        "verify-attestation",
        &layout(),
        "--key",
        &key("alice"),
        "--type",
        "slsaprovenance1",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(line.contains("no_attestations"), "{line}");
}

/// Every YAML document of `deploy/`, by kind.
fn deploy_documents() -> Vec<serde_json::Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut documents = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            for document in serde_yaml_ng::Deserializer::from_str(&text) {
                let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
                documents.push(value);
            }
        }
    }
    documents
}

fn of_kind<'a>(documents: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    documents.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn the_deploy_manifests_name_what_the_server_serves() {
    use ocisig_host::serve;
    let documents = deploy_documents();
    let [deployment] = of_kind(&documents, "Deployment")[..] else {
        panic!("one Deployment");
    };
    let [service] = of_kind(&documents, "Service")[..] else {
        panic!("one Service");
    };
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "serve");
    // Every flag is one `ocisig serve` has.
    let help = String::from_utf8(ocisig(&["serve", "--help"]).stdout).unwrap();
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap();
        assert!(
            help.contains(&format!("{flag} ")),
            "{flag} is not an ocisig serve flag"
        );
    }
    let flag = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")))
            .unwrap_or_else(|| panic!("--{name}"))
    };
    let port_of = |address: &str| address.rsplit_once(':').unwrap().1.parse::<u64>().unwrap();
    let ports = container["ports"].as_array().unwrap();
    let port_named = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap()
    };
    assert_eq!(port_named("https"), port_of(flag("listen")));
    assert_eq!(port_named("health"), port_of(flag("health-listen")));
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"],
        serve::READYZ_PATH
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"],
        serve::HEALTHZ_PATH
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], "health");
    // The mounted files are the ones the flags name.
    let mounts = container["volumeMounts"].as_array().unwrap();
    for file in [flag("tls-cert"), flag("tls-key"), flag("policy")] {
        assert!(
            mounts
                .iter()
                .any(|m| file.starts_with(m["mountPath"].as_str().unwrap())),
            "{file} is mounted"
        );
    }
    let service_name = service["metadata"]["name"].as_str().unwrap();
    let namespace = service["metadata"]["namespace"].as_str().unwrap();
    let https = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["targetPort"] == "https")
        .unwrap();
    let service_port = https["port"].as_u64().unwrap();

    for (kind, path) in [
        ("MutatingWebhookConfiguration", serve::RESOLVE_PATH),
        ("ValidatingWebhookConfiguration", serve::VERIFY_PATH),
    ] {
        let [configuration] = of_kind(&documents, kind)[..] else {
            panic!("one {kind}");
        };
        for webhook in configuration["webhooks"].as_array().unwrap() {
            let target = &webhook["clientConfig"]["service"];
            assert_eq!(target["path"], path, "{kind}");
            assert_eq!(target["name"], service_name);
            assert_eq!(target["namespace"], namespace);
            assert_eq!(target["port"].as_u64(), Some(service_port));
            assert_eq!(webhook["failurePolicy"], "Fail");
            // The webhook must not give up before ocisig answers with its own deadline.
            let timeout = webhook["timeoutSeconds"].as_u64().unwrap();
            assert!(
                timeout
                    > flag("timeout")
                        .trim_end_matches('s')
                        .parse::<u64>()
                        .unwrap()
            );
        }
    }
    let [provider] = of_kind(&documents, "Provider")[..] else {
        panic!("one Gatekeeper Provider");
    };
    assert_eq!(
        provider["spec"]["url"],
        format!(
            "https://{service_name}.{namespace}:{service_port}{}",
            serve::GATEKEEPER_PATH
        )
    );
    assert_eq!(provider["spec"]["timeout"], 3);
    let [kubewarden] = of_kind(&documents, "ClusterAdmissionPolicy")[..] else {
        panic!("one Kubewarden ClusterAdmissionPolicy");
    };
    assert!(kubewarden["spec"]["settings"]["signatures"].is_array());
}

#[test]
fn serve_help_teaches_and_bad_flags_are_usage_errors() {
    let help = ocisig(&["serve", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "/lakom/resolve-tag-to-digest",
        "/lakom/verify-cosign-signature",
        "/gatekeeper/verify",
        "--lakom-config",
        "--warn-only",
        "unpinned_image",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    // Neither policy source, both, and a duration that is not one.
    let usage = |extra: &str| {
        let mut args = vec!["serve", "--tls-cert", "c", "--tls-key", "k"];
        args.extend(extra.split_whitespace());
        let output = ocisig(&args);
        assert_eq!(output.status.code(), Some(2), "{extra}");
        String::from_utf8(output.stderr).unwrap()
    };
    usage("");
    usage("--policy p --lakom-config l");
    let duration = usage("--policy p --timeout soon");
    assert!(duration.contains("is not a duration"), "{duration}");
    // Every example in the help parses: each stops at reading its (absent) files, never at
    // a flag.
    let help_examples: Vec<String> = text
        .replace("\\\n", " ")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("ocisig serve "))
        .map(str::to_string)
        .collect();
    assert!(help_examples.len() >= 2, "{text}");
    for example in &help_examples {
        let mut args = vec!["serve"];
        args.extend(example.split_whitespace());
        let output = ocisig(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{example}: {stderr}");
        assert!(stderr.contains("cannot read"), "{example}: {stderr}");
    }
    let missing = ocisig(&[
        "serve",
        "--tls-cert",
        "/nonexistent.crt",
        "--tls-key",
        "k",
        "--policy",
        examples().join("signed/policy.json").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read TLS certificate"));
}

fn policy_set(name: &str) -> String {
    examples()
        .join(format!("policy-set/{name}"))
        .display()
        .to_string()
}

/// A policy set given to `eval`: the module tells it from a policy by its `rules`, and the
/// verdict names each matching rule; `policy explain --output document` turns the
/// ClusterImagePolicy version of the same set into one that decides the same way.
#[test]
fn eval_decides_under_a_policy_set_and_its_cluster_image_policies_alike() {
    let dir = tempdir();
    let translated = dir.join("cips-set.json");
    let output = ocisig(&[
        "policy",
        "explain",
        &policy_set("cips.yaml"),
        "--output",
        "document",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    std::fs::write(&translated, &output.stdout).unwrap();
    let set = PathBuf::from(policy_set("set.json"));
    for policy in [&set, &translated] {
        // Signed by alice, whom the "demo" rule trusts.
        let output = eval_files(policy, &examples().join("signed/evidence.json"));
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let v = verdict(&output);
        assert_eq!(v["allowed"], true);
        assert_eq!(v["rules"][0]["name"], "demo");
        assert_eq!(v["rules"][0]["passed"], true);
        assert_eq!(v["rules"][0]["verdict"]["satisfiedKeys"][0], "alice");
        assert_eq!(v["rules"].as_array().map(Vec::len), Some(1));
        // Unsigned: the denial names the rule.
        let output = eval_files(policy, &examples().join("unsigned/evidence.json"));
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let v = verdict(&output);
        assert_eq!(v["allowed"], false);
        assert_eq!(v["reason"], "no_signatures");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("rule \"demo\": "),
            "{v}"
        );
    }
}

#[test]
fn an_image_no_rule_matches_is_denied_unless_the_set_says_otherwise() {
    let dir = tempdir();
    let evidence: serde_json::Value =
        serde_json::from_slice(&std::fs::read(examples().join("signed/evidence.json")).unwrap())
            .unwrap();
    let mut elsewhere = evidence.clone();
    elsewhere["image"] = "quay.io/someone/else:v1".into();
    let elsewhere_path = dir.join("elsewhere.json");
    std::fs::write(&elsewhere_path, elsewhere.to_string()).unwrap();
    let set: serde_json::Value =
        serde_json::from_slice(&std::fs::read(policy_set("set.json")).unwrap()).unwrap();
    for (unmatched, code, warnings) in [("deny", 1, 0), ("allow", 0, 0), ("warn", 0, 1)] {
        let mut set = set.clone();
        set["unmatched"] = unmatched.into();
        let path = dir.join(format!("set-{unmatched}.json"));
        std::fs::write(&path, set.to_string()).unwrap();
        let output = eval_files(&path, &elsewhere_path);
        assert_eq!(output.status.code(), Some(code), "{unmatched}: {output:?}");
        let v = verdict(&output);
        assert_eq!(v["reason"], "unmatched_image", "{v}");
        assert_eq!(v["warnings"].as_array().map(Vec::len), Some(warnings));
        assert_eq!(v["rules"], serde_json::json!([]));
    }
}

#[test]
fn policy_explain_shows_the_set_and_refuses_what_it_cannot_honour() {
    let output = ocisig(&["policy", "explain", &policy_set("cips.yaml")]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("policy set sha256:"), "{text}");
    assert!(
        text.contains("(3 rules; an image no rule matches: deny)"),
        "{text}"
    );
    assert!(text.contains("rule \"vendor\" (warn)"), "{text}");
    assert!(text.contains("formats bundle"), "{text}");
    assert!(text.contains("static: pass"), "{text}");

    let output = ocisig(&[
        "policy",
        "explain",
        &policy_set("set.json"),
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let explained: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(explained["kind"], "policySet");
    assert_eq!(
        explained["rules"][1]["anyOf"][1]["keys"][0]["name"],
        "carol"
    );

    let dir = tempdir();
    let kms = dir.join("kms.yaml");
    std::fs::write(
        &kms,
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: a\nspec:\n  images: [{glob: \"**\"}]\n  authorities: [{static: {action: pass}}]\n---\napiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata:\n  name: b\nspec:\n  images: [{glob: \"**\"}]\n  authorities:\n  - key: {kms: \"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k\"}\n",
    )
    .unwrap();
    let output = ocisig(&["policy", "explain", kms.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("kms.yaml[1] spec.authorities[0].key.kms: KMS keys are not supported"),
        "{stderr}"
    );
    // The same refusal stops `verify` before anything is fetched.
    let output = ocisig(&[
        "verify",
        "--policy",
        kms.to_str().unwrap(),
        "quay.io/a/b:v1",
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");

    let mut set: serde_json::Value =
        serde_json::from_slice(&std::fs::read(policy_set("set.json")).unwrap()).unwrap();
    set["rules"][1]["name"] = "demo".into();
    let twice = dir.join("twice.json");
    std::fs::write(&twice, set.to_string()).unwrap();
    let output = ocisig(&["policy", "explain", twice.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("rules[1].name: \"demo\" names two rules"),
        "{stderr}"
    );
}

#[test]
fn single_policy_flags_are_refused_beside_a_set() {
    for extra in [
        vec!["--key", "examples/keys/alice.pub"],
        vec!["--threshold", "2"],
        vec!["--format", "bundle"],
    ] {
        let mut args = vec!["verify", "--policy"];
        let set = policy_set("set.json");
        args.push(&set);
        args.extend(extra.iter().copied());
        args.push("quay.io/a/b:v1");
        let output = ocisig(&args);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains("cannot be used with a policy set"),
            "{extra:?}: {stderr}"
        );
    }
    // And the set flags beside a single policy.
    let output = ocisig(&[
        "verify",
        &layout(),
        "--key",
        &key("alice"),
        "--no-match",
        "allow",
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
