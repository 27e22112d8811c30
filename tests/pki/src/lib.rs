//! A Sigstore-like PKI made by the tests, so that each certificate rule can be attacked one
//! fault at a time: a root CA and intermediates in the shape of Fulcio's, a Fulcio-style leaf
//! with an embedded SCT from a CT log, a Rekor-style log (signed entry timestamps and signed
//! checkpoints), and an RFC 3161 timestamp authority with its own root, all in one
//! `trusted_root.json`.
//!
//! A test starts from [`Spec::valid`], where everything verifies, changes exactly one thing
//! (an extension of one certificate, a flag, a time) and calls [`Spec::build`]: every
//! certificate is then issued and signed again by its issuer's key, the SCT re-signed over the
//! new precertificate, so the one change is the only fault. Keys are P-256 from fixed seeds and
//! signatures are deterministic (RFC 6979), so a failure reproduces byte for byte.
#![allow(clippy::missing_panics_doc, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The time the artifact is signed (2026-01-01T00:00:00Z), in Unix seconds.
pub const SIGNED_AT: i64 = 1_767_225_600;
/// The identity the leaf is issued to (its URI subject alternative name).
pub const SUBJECT: &str =
    "https://github.com/ocisig/pki-test/.github/workflows/release.yml@refs/heads/main";
/// The OIDC issuer the leaf names (Fulcio's v2 issuer extension).
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// An extension no verifier knows, for the critical-extension rules.
pub const UNKNOWN_EXTENSION: &str = "1.3.6.1.4.1.57264.99.1";

/// Well-known OIDs, dotted.
pub mod oid {
    /// basicConstraints.
    pub const BASIC_CONSTRAINTS: &str = "2.5.29.19";
    /// keyUsage.
    pub const KEY_USAGE: &str = "2.5.29.15";
    /// extKeyUsage.
    pub const EXT_KEY_USAGE: &str = "2.5.29.37";
    /// subjectAltName.
    pub const SUBJECT_ALT_NAME: &str = "2.5.29.17";
    /// nameConstraints.
    pub const NAME_CONSTRAINTS: &str = "2.5.29.30";
    /// subjectKeyIdentifier.
    pub const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
    /// The code-signing extended key usage.
    pub const CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
    /// The time-stamping extended key usage.
    pub const TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
    /// Fulcio's OIDC issuer extension (v2, a UTF8String).
    pub const FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
    /// Fulcio's build signer URI extension.
    pub const FULCIO_BUILD_SIGNER_URI: &str = "1.3.6.1.4.1.57264.1.9";
    /// RFC 6962's embedded SCT list.
    pub const SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";
}

/// keyUsage bit numbers (RFC 5280 §4.2.1.3).
pub mod key_usage {
    /// digitalSignature.
    pub const DIGITAL_SIGNATURE: usize = 0;
    /// keyCertSign.
    pub const KEY_CERT_SIGN: usize = 5;
    /// cRLSign.
    pub const CRL_SIGN: usize = 6;
}

// --- DER, written -----------------------------------------------------------------------------

/// DER writing: just what certificates, timestamps and SCTs need.
pub mod der {
    /// One element with `tag` and `content`.
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let length = content.len();
        if length < 0x80 {
            out.push(length as u8);
        } else {
            let bytes = length.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// A SEQUENCE of these elements.
    pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &items.concat())
    }

    /// A SET of these elements, in the order given.
    pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x31, &items.concat())
    }

    /// An OBJECT IDENTIFIER from its dotted form.
    pub fn oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut content = Vec::new();
        let mut encode = |mut value: u64| {
            let mut groups = vec![(value & 0x7f) as u8];
            value >>= 7;
            while value > 0 {
                groups.push(0x80 | (value & 0x7f) as u8);
                value >>= 7;
            }
            groups.reverse();
            content.extend(groups);
        };
        encode(arcs[0] * 40 + arcs[1]);
        for arc in &arcs[2..] {
            encode(*arc);
        }
        tlv(0x06, &content)
    }

    /// A non-negative INTEGER.
    pub fn int(value: u64) -> Vec<u8> {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
        let mut content = bytes[skip..].to_vec();
        if content[0] & 0x80 != 0 {
            content.insert(0, 0);
        }
        tlv(0x02, &content)
    }

    /// An OCTET STRING.
    pub fn octets(bytes: &[u8]) -> Vec<u8> {
        tlv(0x04, bytes)
    }

    /// A BIT STRING with no unused bits.
    pub fn bits(bytes: &[u8]) -> Vec<u8> {
        let mut content = vec![0];
        content.extend_from_slice(bytes);
        tlv(0x03, &content)
    }

    /// A UTF8String.
    pub fn utf8(text: &str) -> Vec<u8> {
        tlv(0x0c, text.as_bytes())
    }

    /// NULL.
    pub fn null() -> Vec<u8> {
        vec![0x05, 0x00]
    }

    /// BOOLEAN TRUE.
    pub fn true_() -> Vec<u8> {
        vec![0x01, 0x01, 0xff]
    }

    /// `[n]` EXPLICIT around `content`.
    pub fn explicit(n: u8, content: &[u8]) -> Vec<u8> {
        tlv(0xa0 | n, content)
    }

    fn civil(time: i64) -> (i64, i64, i64, i64, i64, i64) {
        let days = time.div_euclid(86_400);
        let seconds = time.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (
            year,
            month,
            day,
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
        )
    }

    /// A certificate validity time: UTCTime up to 2049, GeneralizedTime after.
    pub fn time(time: i64) -> Vec<u8> {
        let (y, mo, d, h, mi, s) = civil(time);
        if (1950..2050).contains(&y) {
            tlv(
                0x17,
                format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100).as_bytes(),
            )
        } else {
            generalized_time(time)
        }
    }

    /// A GeneralizedTime.
    pub fn generalized_time(time: i64) -> Vec<u8> {
        let (y, mo, d, h, mi, s) = civil(time);
        tlv(
            0x18,
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes(),
        )
    }

    /// RFC 3339, as trusted roots write times.
    pub fn rfc3339(time: i64) -> String {
        let (y, mo, d, h, mi, s) = civil(time);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

use der::{bits, explicit, int, null, octets, oid as der_oid, seq, set, tlv, true_, utf8};

// --- keys -------------------------------------------------------------------------------------

/// A P-256 key from a fixed seed.
#[derive(Clone)]
pub struct Key(SigningKey);

impl Key {
    /// The key for `seed`: the same seed, the same key.
    pub fn new(seed: u8) -> Self {
        let mut secret = [0x5au8; 32];
        secret[0] = seed;
        secret[31] = seed.wrapping_mul(13).wrapping_add(3);
        Self(SigningKey::from_slice(&secret).expect("a valid scalar"))
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        self.0
            .verifying_key()
            .to_public_key_der()
            .expect("encodes")
            .as_bytes()
            .to_vec()
    }

    /// The PEM public key.
    pub fn pem(&self) -> String {
        self.0
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encodes")
    }

    /// An ASN.1 DER ECDSA P-256/SHA-256 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: p256::ecdsa::Signature = self.0.sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    /// sha256 of the SPKI: a log's id.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.spki()).into()
    }
}

// --- certificates -----------------------------------------------------------------------------

/// One extension, as a certificate carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Its OID, dotted.
    pub oid: String,
    /// Whether it is marked critical.
    pub critical: bool,
    /// The DER inside its OCTET STRING.
    pub value: Vec<u8>,
}

impl Extension {
    /// Any extension.
    pub fn new(oid: &str, critical: bool, value: Vec<u8>) -> Self {
        Self {
            oid: oid.into(),
            critical,
            value,
        }
    }

    /// basicConstraints (critical).
    pub fn basic_constraints(ca: bool, path_len: Option<u64>) -> Self {
        let mut fields = Vec::new();
        if ca {
            fields.push(true_());
        }
        if let Some(length) = path_len {
            fields.push(int(length));
        }
        Self::new(oid::BASIC_CONSTRAINTS, true, seq(&fields))
    }

    /// keyUsage with these bits (critical).
    pub fn key_usage(set_bits: &[usize]) -> Self {
        let highest = set_bits.iter().copied().max().unwrap_or(0);
        let mut bytes = vec![0u8; highest / 8 + 1];
        for bit in set_bits {
            bytes[bit / 8] |= 0x80 >> (bit % 8);
        }
        let mut content = vec![(7 - highest % 8) as u8];
        content.extend(bytes);
        Self::new(oid::KEY_USAGE, true, tlv(0x03, &content))
    }

    /// extKeyUsage with these purposes.
    pub fn ext_key_usage(purposes: &[&str], critical: bool) -> Self {
        let list: Vec<Vec<u8>> = purposes.iter().map(|p| der_oid(p)).collect();
        Self::new(oid::EXT_KEY_USAGE, critical, seq(&list))
    }

    /// A subjectAltName with one URI (critical, as for an empty subject).
    pub fn san_uri(uri: &str) -> Self {
        Self::new(
            oid::SUBJECT_ALT_NAME,
            true,
            seq(&[tlv(0x86, uri.as_bytes())]),
        )
    }

    /// Fulcio's v2 OIDC issuer extension.
    pub fn fulcio_issuer(issuer: &str) -> Self {
        Self::new(oid::FULCIO_ISSUER_V2, false, utf8(issuer))
    }

    /// nameConstraints permitting one subtree: a `dNSName` (`uri` false) or a
    /// `uniformResourceIdentifier` host (`uri` true), RFC 5280 §4.2.1.10.
    pub fn name_constraints(critical: bool, uri: bool, subtree: &str) -> Self {
        let tag = if uri { 0x86 } else { 0x82 };
        // permittedSubtrees is [0] IMPLICIT: the tag stands for the SEQUENCE OF GeneralSubtree.
        let permitted = explicit(0, &seq(&[tlv(tag, subtree.as_bytes())]));
        Self::new(oid::NAME_CONSTRAINTS, critical, seq(&[permitted]))
    }

    /// subjectKeyIdentifier for `key`.
    pub fn subject_key_identifier(key: &Key) -> Self {
        let hash = Sha256::digest(key.spki());
        Self::new(oid::SUBJECT_KEY_IDENTIFIER, false, octets(&hash[..20]))
    }

    /// The extension nothing processes, critical, with a NULL value.
    pub fn unknown_critical() -> Self {
        Self::new(UNKNOWN_EXTENSION, true, null())
    }

    fn der(&self) -> Vec<u8> {
        let mut fields = vec![der_oid(&self.oid)];
        if self.critical {
            fields.push(true_());
        }
        fields.push(octets(&self.value));
        seq(&fields)
    }
}

/// What a certificate says, before it is issued.
#[derive(Clone, Debug)]
pub struct Template {
    /// The subject's common name; empty for an empty subject (Fulcio's leaves).
    pub common_name: String,
    /// The serial number.
    pub serial: u64,
    /// notBefore and notAfter, Unix seconds.
    pub validity: (i64, i64),
    /// The extensions, in order.
    pub extensions: Vec<Extension>,
    /// The seed of the subject's key.
    pub key_seed: u8,
}

/// An X.501 name of one organization and common name (empty: the empty name).
pub fn name(common_name: &str) -> Vec<u8> {
    if common_name.is_empty() {
        return seq(&[]);
    }
    let attribute = |oid: &str, value: &str| set(&[seq(&[der_oid(oid), utf8(value)])]);
    seq(&[
        attribute("2.5.4.10", "ocisig-test"),
        attribute("2.5.4.3", common_name),
    ])
}

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

impl Template {
    /// A CA (basicConstraints cA, keyUsage keyCertSign and cRLSign).
    pub fn ca(common_name: &str, key_seed: u8, path_len: Option<u64>) -> Self {
        let key = Key::new(key_seed);
        Self {
            common_name: common_name.into(),
            serial: u64::from(key_seed) * 1000 + 1,
            validity: (SIGNED_AT - 365 * 86_400, SIGNED_AT + 5 * 365 * 86_400),
            extensions: vec![
                Extension::key_usage(&[key_usage::KEY_CERT_SIGN, key_usage::CRL_SIGN]),
                Extension::basic_constraints(true, path_len),
                Extension::subject_key_identifier(&key),
            ],
            key_seed,
        }
    }

    /// The subject's key.
    pub fn key(&self) -> Key {
        Key::new(self.key_seed)
    }

    /// The TBSCertificate under `issuer`'s name, with `extensions`.
    fn tbs(&self, issuer: &[u8], extensions: &[Extension]) -> Vec<u8> {
        let mut fields = vec![
            explicit(0, &int(2)),
            int(self.serial),
            seq(&[der_oid(ECDSA_SHA256)]),
            issuer.to_vec(),
            seq(&[der::time(self.validity.0), der::time(self.validity.1)]),
            name(&self.common_name),
            self.key().spki(),
        ];
        if !extensions.is_empty() {
            let list: Vec<Vec<u8>> = extensions.iter().map(Extension::der).collect();
            fields.push(explicit(3, &seq(&list)));
        }
        seq(&fields)
    }

    /// The certificate, issued by `issuer` (its template: its name and key); `None` signs it
    /// with its own key under its own name.
    pub fn issue(&self, issuer: Option<&Template>) -> Vec<u8> {
        self.issue_with(issuer, &self.extensions)
    }

    fn issue_with(&self, issuer: Option<&Template>, extensions: &[Extension]) -> Vec<u8> {
        let issuer = issuer.unwrap_or(self);
        let tbs = self.tbs(&name(&issuer.common_name), extensions);
        let signature = issuer.key().sign(&tbs);
        seq(&[tbs, seq(&[der_oid(ECDSA_SHA256)]), bits(&signature)])
    }
}

/// A PEM certificate.
pub fn certificate_pem(der: &[u8]) -> String {
    let body = BASE64.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

// --- the whole PKI ----------------------------------------------------------------------------

/// Everything that makes up the PKI, valid by default ([`Spec::valid`]); change one thing and
/// [`Spec::build`] it.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The Fulcio-style root.
    pub root: Template,
    /// The CAs between the root and the leaf, the root's child first.
    pub intermediates: Vec<Template>,
    /// The Fulcio-style leaf (its SCT is added when it is built).
    pub leaf: Template,
    /// The timestamp authority's root.
    pub tsa_root: Template,
    /// CAs between the timestamp authority's root and its signing certificate.
    pub tsa_intermediates: Vec<Template>,
    /// The timestamp authority's signing certificate.
    pub tsa_leaf: Template,
    /// Whether the leaf gets an embedded SCT.
    pub sct: bool,
    /// The time the timestamp authority stamps.
    pub stamped_at: i64,
    /// The time the log integrates the entry.
    pub integrated_at: i64,
}

const LEAF_SEED: u8 = 30;
const CT_SEED: u8 = 40;
const REKOR_SEED: u8 = 41;

impl Spec {
    /// A PKI where everything verifies.
    pub fn valid() -> Self {
        let leaf_key = Key::new(LEAF_SEED);
        let leaf = Template {
            common_name: String::new(),
            serial: 0x5eed_0001,
            validity: (SIGNED_AT - 60, SIGNED_AT + 540),
            extensions: vec![
                Extension::key_usage(&[key_usage::DIGITAL_SIGNATURE]),
                Extension::ext_key_usage(&[oid::CODE_SIGNING], false),
                Extension::subject_key_identifier(&leaf_key),
                Extension::san_uri(SUBJECT),
                Extension::fulcio_issuer(ISSUER),
            ],
            key_seed: LEAF_SEED,
        };
        let mut intermediate = Template::ca("pki-test-intermediate", 11, Some(0));
        intermediate
            .extensions
            .push(Extension::ext_key_usage(&[oid::CODE_SIGNING], false));
        let tsa_key = Key::new(21);
        let tsa_leaf = Template {
            common_name: "pki-test-tsa".into(),
            serial: 0x75a0_0001,
            validity: (SIGNED_AT - 365 * 86_400, SIGNED_AT + 5 * 365 * 86_400),
            extensions: vec![
                Extension::key_usage(&[key_usage::DIGITAL_SIGNATURE]),
                Extension::ext_key_usage(&[oid::TIME_STAMPING], true),
                Extension::subject_key_identifier(&tsa_key),
            ],
            key_seed: 21,
        };
        Self {
            root: Template::ca("pki-test-root", 10, Some(1)),
            intermediates: vec![intermediate],
            leaf,
            tsa_root: Template::ca("pki-test-tsa-root", 20, Some(0)),
            tsa_intermediates: Vec::new(),
            tsa_leaf,
            sct: true,
            stamped_at: SIGNED_AT + 6,
            integrated_at: SIGNED_AT + 5,
        }
    }

    /// Issues every certificate: each CA by the one above it, the leaf (with its SCT) by the
    /// last intermediate (or the root).
    pub fn build(&self) -> Pki {
        let mut ca_chain = vec![self.root.issue(None)];
        let mut issuer = &self.root;
        for ca in &self.intermediates {
            ca_chain.insert(0, ca.issue(Some(issuer)));
            issuer = ca;
        }
        let ct = Key::new(CT_SEED);
        let mut extensions = self.leaf.extensions.clone();
        if self.sct {
            let precertificate = self.leaf.tbs(&name(&issuer.common_name), &extensions);
            extensions.push(Extension::new(
                oid::SCT_LIST,
                false,
                octets(&sct_list(
                    &ct,
                    &precertificate,
                    &issuer.key().spki(),
                    self.leaf.validity.0,
                )),
            ));
        }
        let leaf = self.leaf.issue_with(Some(issuer), &extensions);

        let mut tsa_chain = vec![self.tsa_root.issue(None)];
        let mut tsa_issuer = &self.tsa_root;
        for ca in &self.tsa_intermediates {
            tsa_chain.insert(0, ca.issue(Some(tsa_issuer)));
            tsa_issuer = ca;
        }
        tsa_chain.insert(0, self.tsa_leaf.issue(Some(tsa_issuer)));
        Pki {
            spec: self.clone(),
            ca_chain,
            leaf,
            tsa_chain,
        }
    }
}

/// A TLS `SignedCertificateTimestampList` with one v1 SCT by `ct` over the precertificate
/// entry (RFC 6962 §3.2).
fn sct_list(ct: &Key, precertificate: &[u8], issuer_spki: &[u8], time: i64) -> Vec<u8> {
    let timestamp = (time as u64 * 1000).to_be_bytes();
    let issuer_key_hash = Sha256::digest(issuer_spki);
    let mut signed = vec![0, 0];
    signed.extend_from_slice(&timestamp);
    signed.extend_from_slice(&[0, 1]);
    signed.extend_from_slice(&issuer_key_hash);
    signed.extend_from_slice(&(precertificate.len() as u32).to_be_bytes()[1..]);
    signed.extend_from_slice(precertificate);
    signed.extend_from_slice(&[0, 0]); // no extensions
    let signature = ct.sign(&signed);
    let mut sct = vec![0];
    sct.extend_from_slice(&ct.log_id());
    sct.extend_from_slice(&timestamp);
    sct.extend_from_slice(&[0, 0]);
    sct.extend_from_slice(&[4, 3]); // SHA-256, ECDSA
    sct.extend_from_slice(&(signature.len() as u16).to_be_bytes());
    sct.extend_from_slice(&signature);
    let mut list = (sct.len() as u16 + 2).to_be_bytes().to_vec();
    list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
    list.extend_from_slice(&sct);
    list
}

/// How a bundle proves its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// The log entry's inclusion promise (SET) and a signed timestamp.
    Both,
    /// Only the signed timestamp: the entry carries an inclusion proof and checkpoint, no SET.
    TimestampOnly,
    /// Only the inclusion promise: no signed timestamp.
    SetOnly,
}

/// The built PKI: every certificate as DER.
#[derive(Clone, Debug)]
pub struct Pki {
    /// What it was built from.
    pub spec: Spec,
    /// The CA chain, the leaf's issuer first and the root last (as a trusted root lists it).
    pub ca_chain: Vec<Vec<u8>>,
    /// The leaf.
    pub leaf: Vec<u8>,
    /// The timestamp authority's chain, its signing certificate first.
    pub tsa_chain: Vec<Vec<u8>>,
}

impl Pki {
    /// The leaf's key, which signs artifacts.
    pub fn leaf_key(&self) -> Key {
        self.spec.leaf.key()
    }

    /// The Rekor-style log's key.
    pub fn rekor_key(&self) -> Key {
        Key::new(REKOR_SEED)
    }

    /// The `trusted_root.json` of this PKI.
    pub fn trusted_root(&self) -> Value {
        let since = der::rfc3339(SIGNED_AT - 365 * 86_400);
        let log = |key: Key, url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": BASE64.encode(key.spki()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": since},
                },
                "logId": {"keyId": BASE64.encode(key.log_id())},
            })
        };
        let chain = |certificates: &[Vec<u8>]| json!({"certificates": certificates.iter().map(|c| json!({"rawBytes": BASE64.encode(c)})).collect::<Vec<_>>()});
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.rekor_key(), "https://rekor.pki-test.example")],
            "certificateAuthorities": [{
                "subject": {"organization": "ocisig-test", "commonName": "pki-test-root"},
                "uri": "https://fulcio.pki-test.example",
                "certChain": chain(&self.ca_chain),
                "validFor": {"start": since},
            }],
            "ctlogs": [log(Key::new(CT_SEED), "https://ctfe.pki-test.example")],
            "timestampAuthorities": [{
                "subject": {"organization": "ocisig-test", "commonName": "pki-test-tsa-root"},
                "uri": "https://tsa.pki-test.example",
                "certChain": chain(&self.tsa_chain),
                "validFor": {"start": since},
            }],
        })
    }

    /// An RFC 3161 `TimeStampResp` over `signature` (its SHA-256 imprint), by the timestamp
    /// authority's signing certificate, at [`Spec::stamped_at`].
    pub fn timestamp(&self, signature: &[u8]) -> Vec<u8> {
        let sha256 = || seq(&[der_oid("2.16.840.1.101.3.4.2.1")]);
        let tst_info = seq(&[
            int(1),
            der_oid("1.3.6.1.4.1.57264.2"),
            seq(&[sha256(), octets(&Sha256::digest(signature))]),
            int(0x1234),
            der::generalized_time(self.spec.stamped_at),
        ]);
        let tst_oid = "1.2.840.113549.1.9.16.1.4";
        let attributes = [
            seq(&[der_oid("1.2.840.113549.1.9.3"), set(&[der_oid(tst_oid)])]),
            seq(&[
                der_oid("1.2.840.113549.1.9.4"),
                set(&[octets(&Sha256::digest(&tst_info))]),
            ]),
        ]
        .concat();
        let signed_attributes = tlv(0x31, &attributes);
        let signature = self.spec.tsa_leaf.key().sign(&signed_attributes);
        let tsa_issuer = self
            .spec
            .tsa_intermediates
            .last()
            .unwrap_or(&self.spec.tsa_root);
        let signer = seq(&[
            int(1),
            seq(&[
                name(&tsa_issuer.common_name),
                int(self.spec.tsa_leaf.serial),
            ]),
            sha256(),
            tlv(0xa0, &attributes),
            seq(&[der_oid(ECDSA_SHA256)]),
            octets(&signature),
        ]);
        let signed_data = seq(&[
            int(3),
            set(&[sha256()]),
            seq(&[der_oid(tst_oid), explicit(0, &octets(&tst_info))]),
            set(&[signer]),
        ]);
        let token = seq(&[der_oid("1.2.840.113549.1.7.2"), explicit(0, &signed_data)]);
        seq(&[seq(&[int(0)]), token])
    }

    /// A v0.3 log entry for `body`, as `proof` asks: always an inclusion proof in a tree of one
    /// with a checkpoint the log signed; an inclusion promise unless `TimestampOnly`.
    fn tlog_entry(&self, kind: &str, body: &Value, proof: Proof) -> Value {
        let body = body.to_string();
        let log = self.rekor_key();
        let log_id_hex: String = log.log_id().iter().map(|b| format!("{b:02x}")).collect();
        let body_b64 = BASE64.encode(&body);
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(body.as_bytes());
        let root = Sha256::digest(&leaf);
        let note = format!("rekor.pki-test.example - 1\n1\n{}\n", BASE64.encode(root));
        let mut hinted = log.log_id()[..4].to_vec();
        hinted.extend(log.sign(note.as_bytes()));
        let checkpoint = format!(
            "{note}\n\u{2014} rekor.pki-test.example {}\n",
            BASE64.encode(hinted)
        );
        let mut entry = json!({
            "logIndex": "7",
            "logId": {"keyId": BASE64.encode(log.log_id())},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": self.spec.integrated_at.to_string(),
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": BASE64.encode(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": body_b64,
        });
        if proof != Proof::TimestampOnly {
            let canonical = json!({
                "body": body_b64, "integratedTime": self.spec.integrated_at,
                "logID": log_id_hex, "logIndex": 7,
            })
            .to_string();
            entry["inclusionPromise"] =
                json!({"signedEntryTimestamp": BASE64.encode(log.sign(canonical.as_bytes()))});
        }
        entry
    }

    fn material(&self, entry: Value, signature: &[u8], proof: Proof) -> Value {
        let mut material = json!({
            "certificate": {"rawBytes": BASE64.encode(&self.leaf)},
            "tlogEntries": [entry],
        });
        if proof != Proof::SetOnly {
            material["timestampVerificationData"] = json!({
                "rfc3161Timestamps": [{"signedTimestamp": BASE64.encode(self.timestamp(signature))}],
            });
        }
        material
    }

    /// A v0.3 bundle of a message signature over `artifact` (its SHA-256), logged as a
    /// `hashedrekord`, as `cosign sign-blob --new-bundle-format` makes one.
    pub fn artifact_bundle(&self, artifact: &[u8], proof: Proof) -> Value {
        let digest = Sha256::digest(artifact);
        let signature = self.leaf_key().sign(artifact);
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex(&digest)}},
                "signature": {
                    "content": BASE64.encode(&signature),
                    "publicKey": {"content": BASE64.encode(certificate_pem(&self.leaf))},
                },
            },
        });
        let entry = self.tlog_entry("hashedrekord", &body, proof);
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": self.material(entry, &signature, proof),
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": BASE64.encode(digest)},
                "signature": BASE64.encode(&signature),
            },
        })
    }

    /// A v0.3 bundle of a DSSE envelope around an in-toto statement of cosign's signature type
    /// about `image_digest` (`sha256:…`), logged as `dsse`, as cosign v3 signs an image.
    pub fn image_bundle(&self, image_digest: &str, proof: Proof) -> Vec<u8> {
        let payload_type = "application/vnd.in-toto+json";
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"digest": {"sha256": image_digest.trim_start_matches("sha256:")}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {},
        })
        .to_string();
        let pae = format!(
            "DSSEv1 {} {payload_type} {} {statement}",
            payload_type.len(),
            statement.len()
        );
        let signature = self.leaf_key().sign(pae.as_bytes());
        let envelope = json!({
            "payload": BASE64.encode(&statement),
            "payloadType": payload_type,
            "signatures": [{"sig": BASE64.encode(&signature)}],
        });
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(envelope.to_string()))},
                "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(&statement))},
                "signatures": [{
                    "signature": BASE64.encode(&signature),
                    "verifier": BASE64.encode(certificate_pem(&self.leaf)),
                }],
            },
        });
        let entry = self.tlog_entry("dsse", &body, proof);
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": self.material(entry, &signature, proof),
            "dsseEnvelope": envelope,
        })
        .to_string()
        .into_bytes()
    }

    /// What a keyless cosign 2 `.sig` layer carries for `payload`: the base64 signature, the
    /// leaf as PEM (the certificate annotation) and the Rekor bundle annotation (a
    /// `hashedrekord` entry with its SET).
    pub fn sig_layer(&self, payload: &[u8]) -> SigLayer {
        let signature = self.leaf_key().sign(payload);
        let certificate = certificate_pem(&self.leaf);
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex(&Sha256::digest(payload))}},
                "signature": {
                    "content": BASE64.encode(&signature),
                    "publicKey": {"content": BASE64.encode(&certificate)},
                },
            },
        });
        let log = self.rekor_key();
        let log_id: String = log.log_id().iter().map(|b| format!("{b:02x}")).collect();
        let body = BASE64.encode(body.to_string());
        let canonical = json!({
            "body": body, "integratedTime": self.spec.integrated_at, "logID": log_id, "logIndex": 7,
        })
        .to_string();
        SigLayer {
            signature: BASE64.encode(&signature),
            certificate,
            rekor_bundle: json!({
                "SignedEntryTimestamp": BASE64.encode(log.sign(canonical.as_bytes())),
                "Payload": {"body": body, "integratedTime": self.spec.integrated_at, "logIndex": 7, "logID": log_id},
            })
            .to_string(),
        }
    }
}

/// The annotations of a keyless `.sig` layer.
#[derive(Clone, Debug)]
pub struct SigLayer {
    /// `dev.cosignproject.cosign/signature`: base64 of the DER signature.
    pub signature: String,
    /// `dev.sigstore.cosign/certificate`: the leaf, PEM.
    pub certificate: String,
    /// `dev.sigstore.cosign/bundle`: the Rekor bundle.
    pub rekor_bundle: String,
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The position of the extension `oid` in a template's list, if it has it.
pub fn position(template: &Template, oid: &str) -> Option<usize> {
    template.extensions.iter().position(|e| e.oid == oid)
}
