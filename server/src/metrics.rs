//! `GET /metrics` in the Prometheus text format (version 0.0.4). Hand-written: eight series
//! and one histogram do not justify a metrics framework and its registry, and the format is
//! small and stable; the unit test pins it.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds of `rbk_claim_seconds`, in seconds.
const CLAIM_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    pub alerts_received: AtomicU64,
    pub alerts_duplicate: AtomicU64,
    pub runs_coalesced: AtomicU64,
    pub runs_suppressed: AtomicU64,
    pub takeovers: AtomicU64,
    claims: Mutex<Histogram>,
}

#[derive(Default)]
struct Histogram {
    counts: [u64; CLAIM_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What the store says at scrape time.
#[derive(Default)]
pub struct StoreGauges {
    /// (state, number of runs in it), every state listed even at zero.
    pub runs_by_state: Vec<(String, u64)>,
    pub queue_depth: u64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn observe_claim(&self, seconds: f64) {
        let mut histogram = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        for (bound, count) in CLAIM_BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    pub fn render(&self, gauges: Option<&StoreGauges>) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        };
        counter(
            &mut out,
            "rbk_alerts_received_total",
            "Alerts received on the intake (every alert of every payload).",
            &self.alerts_received,
        );
        counter(
            &mut out,
            "rbk_alerts_duplicate_total",
            "Alerts that were a re-delivery of one already recorded.",
            &self.alerts_duplicate,
        );
        counter(
            &mut out,
            "rbk_runs_coalesced_total",
            "Occurrences coalesced onto an active run (concurrency full).",
            &self.runs_coalesced,
        );
        counter(
            &mut out,
            "rbk_runs_suppressed_total",
            "Starts suppressed by a rate limit.",
            &self.runs_suppressed,
        );
        counter(
            &mut out,
            "rbk_takeovers_total",
            "Runs whose lease expired and were handed back to the queue by this process's reaper.",
            &self.takeovers,
        );
        if let Some(gauges) = gauges {
            let _ = writeln!(out, "# HELP rbk_runs Runs in the store by state.");
            let _ = writeln!(out, "# TYPE rbk_runs gauge");
            for (state, count) in &gauges.runs_by_state {
                let _ = writeln!(out, "rbk_runs{{state=\"{}\"}} {count}", escape(state));
            }
            let _ = writeln!(
                out,
                "# HELP rbk_queue_depth Runs queued and not yet claimed."
            );
            let _ = writeln!(out, "# TYPE rbk_queue_depth gauge");
            let _ = writeln!(out, "rbk_queue_depth {}", gauges.queue_depth);
        }
        let histogram = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP rbk_claim_seconds Time to claim work from the store."
        );
        let _ = writeln!(out, "# TYPE rbk_claim_seconds histogram");
        for (bound, count) in CLAIM_BUCKETS.iter().zip(histogram.counts) {
            let _ = writeln!(out, "rbk_claim_seconds_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "rbk_claim_seconds_bucket{{le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(out, "rbk_claim_seconds_sum {}", histogram.sum);
        let _ = writeln!(out, "rbk_claim_seconds_count {}", histogram.count);
        out
    }
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.alerts_received, 3);
        Metrics::add(&metrics.alerts_duplicate, 1);
        metrics.observe_claim(0.002);
        metrics.observe_claim(0.3);
        let gauges = StoreGauges {
            runs_by_state: vec![("queued".into(), 2), ("in_doubt".into(), 0)],
            queue_depth: 2,
        };
        let text = metrics.render(Some(&gauges));
        for line in [
            "# TYPE rbk_alerts_received_total counter",
            "rbk_alerts_received_total 3",
            "rbk_alerts_duplicate_total 1",
            "rbk_runs_coalesced_total 0",
            "rbk_runs{state=\"queued\"} 2",
            "rbk_runs{state=\"in_doubt\"} 0",
            "rbk_queue_depth 2",
            "# TYPE rbk_claim_seconds histogram",
            "rbk_claim_seconds_bucket{le=\"0.001\"} 0",
            "rbk_claim_seconds_bucket{le=\"0.0025\"} 1",
            "rbk_claim_seconds_bucket{le=\"0.25\"} 1",
            "rbk_claim_seconds_bucket{le=\"1\"} 2",
            "rbk_claim_seconds_bucket{le=\"+Inf\"} 2",
            "rbk_claim_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
