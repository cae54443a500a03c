// Package alerting owns the Alert model and the pipeline that delivers alerts, in
// Alertmanager's shape: a Stage takes alerts and passes on what should go further;
// Sequence and Fanout compose stages; Dedup drops what was already delivered; Retry wraps a
// Notifier (a sink: webhook, file, ...) and tries again with backoff while it says so.
//
// Delivery is at least once per sink: Dedup marks an alert delivered only after the stages
// after it succeeded, so a crash between a sink's success and the mark can repeat one
// notification; sinks carry the alert's ID (the webhook's Idempotency-Key) so that a
// receiver can drop the repeat.
//
// Stages are safe for concurrent use.
package alerting
