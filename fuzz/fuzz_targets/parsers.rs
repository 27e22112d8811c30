//! The `.sig` manifest and payload parsers on arbitrary bytes: an error or a value, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ocisig::manifest::parse_layers(data);
    let _ = ocisig::payload::parse(data);
    let _ = ocisig::PolicyDocument::from_json(data);
    let _ = ocisig::Evidence::from_json(data);
});
