//! Load for `ocisig serve`'s benchmark (benches/serve.sh): N AdmissionReview requests to the
//! validating webhook over a mix of images, C at a time, over HTTPS. Prints one JSON object:
//! requests, errors, seconds, requests per second, and the p50 and p99 latency.
//!
//! Usage: serve-load BASE_URL CA_PEM REQUESTS CONCURRENCY IMAGE...
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, ca, requests, concurrency, images @ ..] = &args[..] else {
        anyhow::bail!("usage: serve-load BASE_URL CA_PEM REQUESTS CONCURRENCY IMAGE...");
    };
    anyhow::ensure!(!images.is_empty(), "name at least one image");
    let requests: usize = requests.parse()?;
    let concurrency: usize = concurrency.parse()?;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca)?)?)
        .timeout(Duration::from_secs(60))
        .build()?;
    // One body per image, made before the clock starts.
    let bodies: Vec<String> = images
        .iter()
        .map(|image| {
            serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "load", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": "CREATE", "object": {"spec": {"containers": [
                    {"name": "app", "image": image}]}}}})
            .to_string()
        })
        .collect();
    let url = format!("{base}/lakom/verify-cosign-signature");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut latencies: Vec<f64> = runtime.block_on(async {
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
            let (next, errors) = (Arc::clone(&next), Arc::clone(&errors));
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= requests {
                        return mine;
                    }
                    // A fixed, spread-out order: request i asks for image (i * 7) mod n.
                    let body = bodies[(index * 7) % bodies.len()].clone();
                    let sent = Instant::now();
                    let ok = match client.post(&url).body(body).send().await {
                        Ok(response) if response.status() == 200 => {
                            response.bytes().await.ok().is_some_and(|body| {
                                serde_json::from_slice::<serde_json::Value>(&body)
                                    .is_ok_and(|review| review["response"]["allowed"] == true)
                            })
                        }
                        _ => false,
                    };
                    mine.push(sent.elapsed().as_secs_f64());
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.await.unwrap());
        }
        all
    });
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |quantile: f64| {
        let index = ((latencies.len() as f64 - 1.0) * quantile).round() as usize;
        latencies.get(index).copied().unwrap_or(0.0) * 1000.0
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": requests,
            "concurrency": concurrency,
            "images": images.len(),
            "errors": errors.load(Ordering::Relaxed),
            "seconds": seconds,
            "requestsPerSecond": requests as f64 / seconds,
            "p50Ms": at(0.50),
            "p99Ms": at(0.99),
        })
    );
    Ok(())
}
