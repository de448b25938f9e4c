//! `GET /metrics`: request counts and latency per action and result, in the Prometheus
//! text format (OpenMetrics), from the Prometheus project's own Rust client
//! (`prometheus-client`) rather than a hand-written exporter.
//!
//! - `keyseal_requests_total{action, result}`: every answered request;
//! - `keyseal_request_duration_seconds{action, result}`: from the first byte read to the
//!   answer, a histogram from 0.5 ms to about 16 s.
//!
//! `action` is an API action (`AsymmetricSign`, ...), `TimeStamp` for `/tsa`,
//! `Authenticate` for a request refused before its action was known, `-` for a request
//! refused before that (too large, server busy), or `other`: a client names the action, so
//! only the actions keyseal serves become labels, and a stranger cannot grow the label set.
//! `result` is `ok` or the error code answered (keyseal's own, bounded, set).
//!
//! The metrics are process-wide (one server per process), like the Prometheus clients'
//! default registries. Like `/health`, `/metrics` takes no access key: it shows counts, never
//! a key, parameter or principal; keep the port off the public network as for the API.

use crate::kms::Action;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

/// The path.
pub const PATH: &str = "/metrics";
/// The media type `prometheus_client` encodes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One series' labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    action: String,
    result: String,
}

type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: HistogramFamily,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms, 1 ms, 2 ms, ... 16.4 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let requests = Family::<Labels, Counter>::default();
    let latency = HistogramFamily::new_with_constructor(latency_histogram);
    registry.register("keyseal_requests", "Requests answered, by action and result", requests.clone());
    registry.register(
        "keyseal_request_duration_seconds",
        "Time to answer a request, by action and result",
        latency.clone(),
    );
    Metrics { registry, requests, latency }
});

/// The label for a client-named `action`: itself when keyseal serves it, else `other`.
fn action_label(action: &str) -> &str {
    let ours = Action::from_name(action).is_some() || matches!(action, "TimeStamp" | "Authenticate" | "-");
    if ours { action } else { "other" }
}

/// Counts one answered request.
pub fn record(action: &str, code: Option<&str>, elapsed: Duration) {
    let labels = Labels { action: action_label(action).to_string(), result: code.unwrap_or("ok").to_string() };
    METRICS.requests.get_or_create(&labels).inc();
    METRICS.latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
}

/// Everything counted so far, as the Prometheus text format.
pub fn encode() -> String {
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &METRICS.registry).is_err() {
        text = "# the metrics could not be encoded\n# EOF\n".into();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_a_client_makes_up_are_counted_as_other() {
        record("AsymmetricSign", None, Duration::from_millis(3));
        record("AsymmetricSign", Some("Rejected.Disabled"), Duration::from_millis(1));
        for n in 0..100 {
            record(&format!("Invented{n}"), Some("Forbidden.ActionNotFound"), Duration::from_millis(1));
        }
        let text = encode();
        assert!(text.contains(r#"keyseal_requests_total{action="AsymmetricSign",result="ok"} "#), "{text}");
        assert!(text.contains(r#"keyseal_requests_total{action="AsymmetricSign",result="Rejected.Disabled"} "#));
        assert!(text.contains(r#"action="other",result="Forbidden.ActionNotFound"} "#), "{text}");
        assert!(!text.contains("Invented"), "a made-up action never becomes a label");
        assert!(
            text.contains(
                r#"keyseal_request_duration_seconds_bucket{le="0.004",action="AsymmetricSign",result="ok"} 1"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
