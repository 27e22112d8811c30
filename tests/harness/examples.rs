//! The bundled examples (real cosign output, see examples/regenerate.sh) give the verdicts
//! recorded beside them.

use crate::support::*;

#[test]
fn every_bundled_example_gives_its_expected_reason() {
    let dir = repo_root().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let example = entry.unwrap().path();
        let expected = example.join("expected-reason");
        if !expected.is_file() {
            continue;
        }
        let reason = read_text(&expected).trim().to_string();
        let verdict = expect(
            &read(&example.join("policy.json")),
            &read(&example.join("evidence.json")),
            &reason,
        );
        eprintln!("{}: {}", example.display(), verdict["message"]);
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} examples found in {}", dir.display());
}
