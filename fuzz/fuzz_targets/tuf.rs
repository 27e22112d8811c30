//! TUF metadata on arbitrary bytes: every role's reader and the trusted set give an error or a
//! value, never a panic; canonical JSON is stable (where its bytes are JSON, encoding them
//! again gives the same bytes); delegated path patterns match any text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocisig::tuf::metadata::{Envelope, RoleType, Root, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    for role in [
        RoleType::Root,
        RoleType::Timestamp,
        RoleType::Snapshot,
        RoleType::Targets,
    ] {
        if let Ok(envelope) = Envelope::read(data, role) {
            let _ = Root::read(&envelope.signed);
            let _ = Timestamp::read(&envelope.signed);
            let _ = Snapshot::read(&envelope.signed);
            let _ = Targets::read(&envelope.signed);
            // Canonical JSON leaves control characters in strings raw, so it is not always
            // JSON; where it is, reading and encoding it again gives the same bytes.
            if let Ok(again) = serde_json::from_slice::<serde_json::Value>(&envelope.canonical) {
                let twice = ocisig::tuf::canonical::encode(&again).expect("encodes again");
                assert_eq!(twice.as_bytes(), envelope.canonical.as_slice());
            }
        }
    }
    if let Ok(mut set) = ocisig::tuf::trusted::TrustedSet::new(data, 1_800_000_000) {
        let _ = set.update_root(data);
        let _ = set.update_timestamp(data);
        let _ = set.update_snapshot(data, false);
        let _ = set.update_targets(data);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some((pattern, path)) = text.split_once('|')
    {
        let _ = ocisig::tuf::delegation::path_matches(pattern, path);
    }
});
