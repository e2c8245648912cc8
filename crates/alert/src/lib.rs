//! The alert pipeline and notification channels.
//!
//! Every alert (rules, behavioural detectors, later ML) is first stored and deduplicated by
//! the store's writer ([`nta_store::Ingest`]); the [`Alerting`] hook then applies
//! suppressions and per-signature thresholds, matches each channel's filter and queues a
//! notification in the channel's persisted outbox, in the alert's own transaction. One
//! thread per channel delivers from its outbox (pacing, batching, retries with backoff), so
//! delivery is at-least-once across receiver outages and restarts.
#![forbid(unsafe_code)]

pub mod channels;
mod config;
mod notifier;
mod pipeline;

pub use config::{
    parse_duration, AlertingConfig, ChannelConfig, ChannelFilter, CompiledChannel, Networks,
    Pacing, Severity, SuppressConfig, Suppression, Threshold, ThresholdConfig, ThresholdKind,
};
pub use pipeline::{
    send_test, test_notification, Alerting, AlertingError, ChannelInfo, PipelineCounters,
};
