//! The core `verify` on arbitrary policy and evidence bytes (split at the first NUL): it must
//! return a verdict, never panic, and never verify without a real signature.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (policy, evidence) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let verdict = ocisig::verify_json(policy, evidence);
    // The verdict always serializes, and says the same thing serialized.
    let json: serde_json::Value = serde_json::from_str(&verdict.to_json()).unwrap();
    assert_eq!(json["verified"], verdict.verified());
});
