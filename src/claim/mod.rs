//! What a signature says about an image: cosign's simple-signing payload (`.sig` layers) and
//! in-toto statements (DSSE envelopes, bundles, attestations).

pub mod in_toto;
pub mod simple_signing;
