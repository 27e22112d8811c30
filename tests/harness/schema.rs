//! The JSON Schemas in docs/schema/ describe the documents the code really takes and gives:
//! every bundled example validates, and so does every verdict it produces.

use serde_json::Value;

use crate::support::*;

pub(crate) fn schema(name: &str) -> jsonschema::Validator {
    let path = repo_root()
        .join("docs/schema")
        .join(format!("{name}.schema.json"));
    let schema: Value = serde_json::from_slice(&read(&path)).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[track_caller]
pub(crate) fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema: {errors:#?}"
    );
}

#[test]
fn examples_and_their_verdicts_match_the_schemas() {
    let (policy, evidence, verdict) = (schema("policy"), schema("evidence"), schema("verdict"));
    let mut seen = 0;
    for entry in std::fs::read_dir(repo_root().join("examples")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("policy.json").is_file() {
            continue;
        }
        let p = read(&dir.join("policy.json"));
        let e = read(&dir.join("evidence.json"));
        assert_valid(
            &policy,
            &serde_json::from_slice(&p).unwrap(),
            &format!("{}/policy.json", dir.display()),
        );
        assert_valid(
            &evidence,
            &serde_json::from_slice(&e).unwrap(),
            &format!("{}/evidence.json", dir.display()),
        );
        assert_valid(
            &verdict,
            &run(&p, &e),
            &format!("the verdict for {}", dir.display()),
        );
        seen += 1;
    }
    assert!(seen >= 8);
}

#[test]
fn denials_before_the_layers_match_the_verdict_schema() {
    let verdict = schema("verdict");
    for (p, e) in [(&b"{"[..], &b"{}"[..]), (br#"{"keys":[]}"#, b"{}")] {
        assert_valid(&verdict, &run(p, e), "an invalid_policy verdict");
    }
    let trap = ocisig::Verdict::denied(ocisig::Reason::ModuleTrap, "x".into()).to_json();
    assert_valid(
        &verdict,
        &serde_json::from_str(&trap).unwrap(),
        "a module_trap verdict",
    );
}

#[test]
fn the_schemas_reject_what_the_code_rejects() {
    let policy = schema("policy");
    for bad in [
        r#"{"keys":[]}"#,
        r#"{"keys":[{"name":"a","publicKey":"-----BEGIN PUBLIC KEY-----"}],"x":1}"#,
        r#"{"threshold":1}"#,
    ] {
        assert!(
            !policy.is_valid(&serde_json::from_str(bad).unwrap()),
            "{bad}"
        );
    }
    let evidence = schema("evidence");
    for bad in [
        r#"{"image":"a","digest":"sha256:AB"}"#,
        r#"{"image":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","blobs":{"x":"AA=="}}"#,
    ] {
        assert!(
            !evidence.is_valid(&serde_json::from_str(bad).unwrap()),
            "{bad}"
        );
    }
}

/// The example policy set (and each of its policies) matches the set schema, and every set
/// verdict the binary's way of deciding gives (the core's rules over the module's verdicts)
/// matches the set-verdict schema, each rule's verdict the verdict schema.
#[test]
fn the_example_policy_set_and_its_verdicts_match_the_schemas() {
    let (set_schema, policy, verdict, set_verdict) = (
        schema("policy-set"),
        schema("policy"),
        schema("verdict"),
        schema("set-verdict"),
    );
    let set_path = repo_root().join("examples/policy-set/set.json");
    let set_json = read(&set_path);
    let set_value: Value = serde_json::from_slice(&set_json).unwrap();
    assert_valid(&set_schema, &set_value, "examples/policy-set/set.json");
    for (i, rule) in set_value["rules"].as_array().unwrap().iter().enumerate() {
        let policies = rule
            .get("policy")
            .map(|p| vec![p.clone()])
            .or_else(|| rule["anyOf"].as_array().cloned())
            .unwrap_or_default();
        for p in &policies {
            assert_valid(&policy, p, &format!("rules[{i}]'s policy"));
        }
    }
    let document = ocisig::Document::from_json(&set_json).unwrap();
    let mut decided = 0;
    for example in ["signed", "unsigned", "wrong-key", "tampered"] {
        let evidence = read(
            &repo_root()
                .join("examples")
                .join(example)
                .join("evidence.json"),
        );
        let parsed = ocisig::Evidence::from_json(&evidence).unwrap();
        for image in [
            parsed.image(),
            "registry.k8s.io/pause:3.9",
            "quay.io/other/app:v1",
        ] {
            let judged = ocisig_host::module::ModuleVerdict::judge(
                module(),
                &document,
                &set_json,
                image,
                &parsed.digest(),
                &evidence,
                &ocisig::Scope::UNKNOWN,
            );
            assert_valid(
                &set_verdict,
                &judged.value,
                &format!("{example} as {image}"),
            );
            for rule in judged.value["rules"].as_array().unwrap() {
                if let Some(v) = rule.get("verdict") {
                    assert_valid(&verdict, v, &format!("{example}: rule {}", rule["name"]));
                }
            }
            decided += 1;
        }
    }
    assert_eq!(decided, 12);
}
