//! `ocisig eval` as a user runs it: exit codes, output and help text.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};

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
    let policy = dir.join("policy.json");
    let evidence = dir.join("evidence.json");
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
    let output = ocisig(&[
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
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
    for args in [&["--help"][..], &["eval", "--help"][..]] {
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
