//! A small HTTP proxy in front of the real registry that misbehaves on purpose: it corrupts,
//! truncates, stalls, swaps bytes, lies in headers, or demands a bearer token.
// Shared by two test binaries (registry and security), each of which uses some of the faults.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;

#[derive(Clone, Debug)]
pub(crate) enum Fault {
    /// Forward as is, but only with `Authorization: Bearer <token>`, which `/token` hands out
    /// for basic credentials `user:password`.
    RequireBearer { user: String, password: String },
    /// Flip one byte of every blob body.
    CorruptBlobs,
    /// Send a blob's headers and half its body, then close.
    TruncateBlobs,
    /// Never answer blob requests.
    StallBlobs,
    /// Answer every manifest request by digest with the manifest tagged `tag`.
    ManifestsByDigestFromTag(String),
    /// Send a false `Docker-Content-Digest` with every manifest.
    LyingDigestHeader,
    /// Send a body larger than any cap, for every manifest request by tag.
    HugeManifest,
    /// Blob bodies that never end (no Content-Length).
    EndlessBlobs,
    /// Blob bodies with extra bytes after the real ones.
    LongerBlobs,
    /// Blob bodies missing their last bytes (with a matching Content-Length).
    ShorterBlobs,
    /// Blob responses that claim a Content-Length of 10 GiB.
    HugeContentLength,
    /// A `.sig` manifest with 1001 layers.
    ThousandAndOneLayers,
    /// A 5 MiB `.sig` manifest (with an honest Content-Length).
    FiveMebibyteSignatureManifest,
    /// Every request redirects to itself.
    RedirectLoop,
    /// Every manifest request fails with this status (and `Retry-After: 1` for 429).
    Status(u16),
    /// Blob bodies that stop halfway and stall.
    StallMidBody,
    /// The tag `live` answers with the manifest of `first` and `second` in turn.
    AlternatingTag { first: String, second: String },
    /// Serve the referrers API (which docker-registry lacks) from the referrers tag schema's
    /// index, with an empty index when there is none; the fallback tag itself answers 404, so
    /// that only the API can have found anything.
    ReferrersApi,
    /// The referrers tag lists this many referrers.
    ManyReferrers(usize),
    /// The referrers tag's body never ends.
    EndlessReferrers,
    /// Forward everything as it is (with [`start_counting`], to count the blob requests).
    CountOnly,
}

/// Whether a request path asks for a referrers tag (`…/manifests/sha256-<64 hex>`).
fn is_referrers_tag(path: &str) -> bool {
    path.rsplit_once("/manifests/")
        .is_some_and(|(_, tag)| tag.len() == 71 && tag.starts_with("sha256-"))
}

/// Starts the proxy for `upstream` (`host:port`); returns its `host:port`.
pub(crate) fn start(upstream: &str, fault: Fault) -> String {
    start_counting(upstream, fault).0
}

/// [`start`], also returning a count of blob requests served.
pub(crate) fn start_counting(upstream: &str, fault: Fault) -> (String, Arc<AtomicUsize>) {
    let (address, counts) = start_with_counts(upstream, fault);
    (address, counts.blobs)
}

/// What the proxy has served.
#[derive(Clone, Default)]
pub(crate) struct Counts {
    /// Blob requests.
    pub(crate) blobs: Arc<AtomicUsize>,
    /// Every request.
    pub(crate) all: Arc<AtomicUsize>,
}

/// [`start`], also returning counts of the requests served.
pub(crate) fn start_with_counts(upstream: &str, fault: Fault) -> (String, Counts) {
    let counts = Counts::default();
    let shared = counts.clone();
    let turn = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let upstream = upstream.to_string();
    let proxy_address = address.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let upstream = upstream.clone();
            let fault = fault.clone();
            let proxy_address = proxy_address.clone();
            let counts = shared.clone();
            let turn = Arc::clone(&turn);
            std::thread::spawn(move || {
                let _ = serve(stream, &upstream, &fault, &proxy_address, &counts, &turn);
            });
        }
    });
    (address, counts)
}

struct Request {
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Request { path, headers })
}

/// The upstream's answer: status line and headers (without Content-Length), and the body.
struct Answer {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn forward(upstream: &str, path: &str, accept: Option<&str>) -> std::io::Result<Answer> {
    let mut connection = TcpStream::connect(upstream)?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\n");
    if let Some(accept) = accept {
        request.push_str(&format!("Accept: {accept}\r\n"));
    }
    request.push_str("\r\n");
    connection.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    connection.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("connection")
        })
        .collect();
    Ok(Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

fn write_answer(
    stream: &mut TcpStream,
    answer: &Answer,
    body: &[u8],
    length: usize,
) -> std::io::Result<()> {
    let mut head = format!("{}\r\n", answer.status);
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn plain(stream: &mut TcpStream, status: &str, extra: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn plain_typed(stream: &mut TcpStream, content_type: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

const TOKEN: &str = "proxy-token-7c1e";

fn serve(
    mut stream: TcpStream,
    upstream: &str,
    fault: &Fault,
    me: &str,
    counts: &Counts,
    turn: &AtomicUsize,
) -> std::io::Result<()> {
    let request = read_request(&mut stream)?;
    counts.all.fetch_add(1, Ordering::SeqCst);
    let is_blob = request.path.contains("/blobs/");
    let is_manifest = request.path.contains("/manifests/");
    let is_signature_manifest = is_manifest && request.path.ends_with(".sig");
    if is_blob {
        counts.blobs.fetch_add(1, Ordering::SeqCst);
    }
    let accept = request.header("accept").map(str::to_string);
    let is_referrers_tag = is_referrers_tag(&request.path);
    match fault {
        Fault::ReferrersApi if is_referrers_tag => {
            return plain(
                &mut stream,
                "404 Not Found",
                "",
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#,
            );
        }
        Fault::ReferrersApi if request.path.contains("/referrers/sha256:") => {
            let path = request
                .path
                .replace("/referrers/sha256:", "/manifests/sha256-");
            let index = "application/vnd.oci.image.index.v1+json";
            let answer = forward(upstream, &path, Some(index))?;
            if answer.status.contains(" 200") {
                return write_answer(&mut stream, &answer, &answer.body, answer.body.len());
            }
            let empty = format!(r#"{{"schemaVersion":2,"mediaType":"{index}","manifests":[]}}"#);
            return plain_typed(&mut stream, index, &empty);
        }
        Fault::ManyReferrers(count) if is_referrers_tag => {
            let entry = |i: usize| {
                format!(
                    r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":900,"digest":"sha256:{i:064x}","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}}"#
                )
            };
            let entries: Vec<String> = (0..*count).map(entry).collect();
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
                entries.join(",")
            );
            return plain_typed(
                &mut stream,
                "application/vnd.oci.image.index.v1+json",
                &body,
            );
        }
        Fault::EndlessReferrers if is_referrers_tag => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\nConnection: close\r\n\r\n{{\"schemaVersion\":2,\"manifests\":["
            )?;
            let chunk = "{\"digest\":\"sha256:0\",\"size\":1},".repeat(1024);
            loop {
                stream.write_all(chunk.as_bytes())?;
            }
        }
        Fault::EndlessBlobs if is_blob => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = vec![b'x'; 64 * 1024];
            loop {
                stream.write_all(&chunk)?;
            }
        }
        Fault::HugeContentLength if is_blob => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = vec![b'x'; 64 * 1024];
            loop {
                stream.write_all(&chunk)?;
            }
        }
        Fault::ThousandAndOneLayers if is_signature_manifest => {
            let layer = r#"{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":10,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","annotations":{"dev.cosignproject.cosign/signature":"MAYCAQACAQA="}}"#;
            let layers = vec![layer; 1001].join(",");
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}},"layers":[{layers}]}}"#
            );
            return plain(&mut stream, "200 OK", "", &body);
        }
        Fault::FiveMebibyteSignatureManifest if is_signature_manifest => {
            let body = format!(
                "{{\"schemaVersion\":2,\"pad\":\"{}\"}}",
                "x".repeat(5 * 1024 * 1024)
            );
            return plain(&mut stream, "200 OK", "", &body);
        }
        Fault::RedirectLoop => {
            let location = format!("Location: http://{me}{}\r\n", request.path);
            return plain(&mut stream, "302 Found", &location, "");
        }
        Fault::Status(code) if is_manifest => {
            let (status, extra) = match code {
                429 => ("429 Too Many Requests", "Retry-After: 1\r\n"),
                503 => ("503 Service Unavailable", ""),
                _ => ("500 Internal Server Error", ""),
            };
            return plain(
                &mut stream,
                status,
                extra,
                r#"{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}"#,
            );
        }
        Fault::AlternatingTag { first, second }
            if is_manifest && request.path.ends_with("/live") =>
        {
            let tag = if turn.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                first
            } else {
                second
            };
            let (prefix, _) = request.path.rsplit_once('/').unwrap_or_default();
            let answer = forward(upstream, &format!("{prefix}/{tag}"), accept.as_deref())?;
            return write_answer(&mut stream, &answer, &answer.body, answer.body.len());
        }
        Fault::RequireBearer { user, password } => {
            if request.path.starts_with("/token") {
                let expected = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                );
                if request.header("authorization") != Some(expected.as_str()) {
                    return plain(
                        &mut stream,
                        "401 Unauthorized",
                        "",
                        r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
                    );
                }
                return plain(
                    &mut stream,
                    "200 OK",
                    "",
                    &format!(r#"{{"token":"{TOKEN}"}}"#),
                );
            }
            if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                let challenge = format!(
                    "WWW-Authenticate: Bearer realm=\"http://{me}/token\",service=\"proxy\",scope=\"repository:x:pull\"\r\n"
                );
                return plain(
                    &mut stream,
                    "401 Unauthorized",
                    &challenge,
                    r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
                );
            }
        }
        Fault::StallBlobs if is_blob => {
            std::thread::sleep(Duration::from_secs(120));
            return Ok(());
        }
        Fault::HugeManifest if is_manifest && !request.path.contains("sha256:") => {
            let chunk = vec![b' '; 1024 * 1024];
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n"
            )?;
            // 64 MiB without a Content-Length; the client must stop reading long before.
            for _ in 0..64 {
                stream.write_all(&chunk)?;
            }
            return Ok(());
        }
        _ => {}
    }
    let path = match fault {
        Fault::ManifestsByDigestFromTag(tag) if is_manifest && request.path.contains("sha256:") => {
            let (prefix, _) = request.path.rsplit_once('/').unwrap_or_default();
            format!("{prefix}/{tag}")
        }
        _ => request.path.clone(),
    };
    let mut answer = forward(upstream, &path, accept.as_deref())?;
    let ok = answer.status.contains(" 200 ");
    match fault {
        Fault::CorruptBlobs if is_blob && ok => {
            if let Some(last) = answer.body.last_mut() {
                *last ^= 0x01;
            }
        }
        Fault::LongerBlobs if is_blob && ok => {
            answer.body.extend_from_slice(b"and some more bytes");
        }
        Fault::ShorterBlobs if is_blob && ok => {
            answer.body.truncate(answer.body.len().saturating_sub(5));
        }
        Fault::StallMidBody if is_blob && ok => {
            let half = answer.body.len() / 2;
            let length = answer.body.len();
            let mut head = format!("{}\r\n", answer.status);
            head.push_str(&format!(
                "Content-Length: {length}\r\nConnection: close\r\n\r\n"
            ));
            stream.write_all(head.as_bytes())?;
            stream.write_all(&answer.body[..half])?;
            stream.flush()?;
            std::thread::sleep(Duration::from_secs(120));
            return Ok(());
        }
        Fault::TruncateBlobs if is_blob && ok => {
            let half = answer.body.len() / 2;
            let length = answer.body.len();
            return write_answer(&mut stream, &answer, &answer.body[..half], length);
        }
        Fault::LyingDigestHeader if is_manifest && ok => {
            for (name, value) in &mut answer.headers {
                if name.eq_ignore_ascii_case("docker-content-digest") {
                    *value = format!("sha256:{}", "ab".repeat(32));
                }
            }
        }
        _ => {}
    }
    write_answer(&mut stream, &answer, &answer.body, answer.body.len())
}
