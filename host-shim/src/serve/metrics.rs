//! Prometheus metrics, written by hand in the text exposition format: Lakom's counters under
//! its own names (so that its dashboards and alerts keep working), and request latency.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Lakom's metric namespace.
const LAKOM: &str = "lakom_admission_controller";

/// The latency histogram's bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The endpoints whose requests are counted and timed.
pub const ENDPOINTS: [&str; 4] = ["resolve", "verify", "gatekeeper", "other"];

/// A histogram with fixed buckets, counting in microseconds.
#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        if let Some(slot) = self.buckets.get(bucket) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (index, slot) in self.buckets.iter().enumerate() {
            cumulative += slot.load(Ordering::Relaxed);
            let bound = BUCKETS
                .get(index)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        #[allow(clippy::cast_precision_loss)]
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(
            out,
            "{name}_count{{{labels}}} {}",
            self.count.load(Ordering::Relaxed)
        );
    }
}

/// Whether a lookup found its answer in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// Answered from the cache.
    Hit,
    /// Not in the cache.
    Miss,
}

/// Every counter the server keeps.
#[derive(Default)]
pub struct Metrics {
    resolved_tags: AtomicU64,
    resolved_tag_errors: AtomicU64,
    resolved_tag_cache: [AtomicU64; 2],
    checks: [AtomicU64; 2],
    check_errors: AtomicU64,
    check_cache: [AtomicU64; 2],
    requests: [Histogram; ENDPOINTS.len()],
    statuses: [[AtomicU64; 3]; ENDPOINTS.len()],
    reloads: [AtomicU64; 2],
}

fn slot(status: CacheStatus) -> usize {
    match status {
        CacheStatus::Hit => 0,
        CacheStatus::Miss => 1,
    }
}

impl Metrics {
    /// A tag was resolved to a digest (from the cache or the registry).
    pub fn tag_resolved(&self, cache: CacheStatus) {
        self.resolved_tags.fetch_add(1, Ordering::Relaxed);
        self.tag_cache(cache);
    }

    /// A tag could not be resolved.
    pub fn tag_resolve_failed(&self) {
        self.resolved_tag_errors.fetch_add(1, Ordering::Relaxed);
        self.tag_cache(CacheStatus::Miss);
    }

    fn tag_cache(&self, cache: CacheStatus) {
        if let Some(counter) = self.resolved_tag_cache.get(slot(cache)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An image's signatures were checked: verified or not.
    pub fn checked(&self, verified: bool, cache: CacheStatus) {
        if let Some(counter) = self.checks.get(usize::from(verified)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.check_cache(cache);
    }

    /// An image could not be checked: its evidence could not be fetched, or time ran out.
    pub fn check_failed(&self) {
        self.check_errors.fetch_add(1, Ordering::Relaxed);
        self.check_cache(CacheStatus::Miss);
    }

    fn check_cache(&self, cache: CacheStatus) {
        if let Some(counter) = self.check_cache.get(slot(cache)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request to `endpoint` (one of [`ENDPOINTS`]) was answered with `status`.
    pub fn request(&self, endpoint: &str, status: u16, elapsed: Duration) {
        let index = ENDPOINTS
            .iter()
            .position(|name| *name == endpoint)
            .unwrap_or(ENDPOINTS.len() - 1);
        if let Some(histogram) = self.requests.get(index) {
            histogram.observe(elapsed);
        }
        let class = match status {
            200..=299 => 0,
            400..=499 => 1,
            _ => 2,
        };
        if let Some(counter) = self.statuses.get(index).and_then(|row| row.get(class)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The policy or TLS files were read again: taken, or refused.
    pub fn reloaded(&self, taken: bool) {
        if let Some(counter) = self.reloads.get(usize::from(!taken)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The text exposition (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let counter = |out: &mut String, name: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, value) in samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        };
        let cache = |counters: &[AtomicU64; 2]| {
            [
                ("status=\"hit\"", get(&counters[0])),
                ("status=\"miss\"", get(&counters[1])),
            ]
        };
        counter(
            &mut out,
            &format!("{LAKOM}_resolved_tags_total"),
            "Image tags resolved to digests.",
            &[("", get(&self.resolved_tags))],
        );
        counter(
            &mut out,
            &format!("{LAKOM}_resolved_tags_errors_total"),
            "Image tags that could not be resolved to digests.",
            &[("", get(&self.resolved_tag_errors))],
        );
        counter(
            &mut out,
            &format!("{LAKOM}_resolved_tags_cache_total"),
            "Tag resolutions answered from the cache (hit) or the registry (miss).",
            &cache(&self.resolved_tag_cache),
        );
        counter(
            &mut out,
            &format!("{LAKOM}_image_signature_check_total"),
            "Images whose signatures were checked, by whether they verified.",
            &[
                ("verified=\"false\"", get(&self.checks[0])),
                ("verified=\"true\"", get(&self.checks[1])),
            ],
        );
        counter(
            &mut out,
            &format!("{LAKOM}_image_signature_check_errors_total"),
            "Images that could not be checked (fetch failure or timeout).",
            &[("", get(&self.check_errors))],
        );
        counter(
            &mut out,
            &format!("{LAKOM}_image_signature_check_cache_total"),
            "Signature checks answered from the verdict cache (hit) or verified anew (miss).",
            &cache(&self.check_cache),
        );
        let mut statuses = Vec::new();
        for (endpoint, row) in ENDPOINTS.iter().zip(&self.statuses) {
            for (class, value) in ["2xx", "4xx", "5xx"].iter().zip(row) {
                statuses.push((
                    format!("endpoint=\"{endpoint}\",code=\"{class}\""),
                    get(value),
                ));
            }
        }
        let statuses: Vec<(&str, u64)> = statuses.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        counter(
            &mut out,
            "ocisig_serve_requests_total",
            "HTTP requests answered, by endpoint and status class.",
            &statuses,
        );
        counter(
            &mut out,
            "ocisig_serve_reloads_total",
            "Changed policy or TLS files read again: taken (ok) or refused, keeping the old (error).",
            &[
                ("result=\"ok\"", get(&self.reloads[0])),
                ("result=\"error\"", get(&self.reloads[1])),
            ],
        );
        let name = "ocisig_serve_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from a request's arrival to its answer, by endpoint.\n# TYPE {name} histogram"
        );
        for (endpoint, histogram) in ENDPOINTS.iter().zip(&self.requests) {
            histogram.write(&mut out, name, &format!("endpoint=\"{endpoint}\""));
        }
        out
    }
}

/// The registry client's request counter, in the exposition format.
pub fn registry_requests(count: u64) -> String {
    let name = "ocisig_serve_registry_requests_total";
    format!(
        "# HELP {name} HTTP requests sent to registries (tokens and retries included).\n# TYPE {name} counter\n{name} {count}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lakoms_names_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.checked(true, CacheStatus::Miss);
        metrics.checked(true, CacheStatus::Hit);
        metrics.checked(false, CacheStatus::Miss);
        metrics.check_failed();
        metrics.tag_resolved(CacheStatus::Miss);
        metrics.request("verify", 200, Duration::from_millis(3));
        metrics.request("verify", 400, Duration::from_millis(300));
        let text = metrics.render();
        for line in [
            "lakom_admission_controller_image_signature_check_total{verified=\"true\"} 2",
            "lakom_admission_controller_image_signature_check_total{verified=\"false\"} 1",
            "lakom_admission_controller_image_signature_check_errors_total 1",
            "lakom_admission_controller_image_signature_check_cache_total{status=\"hit\"} 1",
            "lakom_admission_controller_image_signature_check_cache_total{status=\"miss\"} 3",
            "lakom_admission_controller_resolved_tags_total 1",
            "ocisig_serve_request_duration_seconds_bucket{endpoint=\"verify\",le=\"0.005\"} 1",
            "ocisig_serve_request_duration_seconds_bucket{endpoint=\"verify\",le=\"0.5\"} 2",
            "ocisig_serve_request_duration_seconds_bucket{endpoint=\"verify\",le=\"+Inf\"} 2",
            "ocisig_serve_request_duration_seconds_count{endpoint=\"verify\"} 2",
            "ocisig_serve_requests_total{endpoint=\"verify\",code=\"4xx\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
