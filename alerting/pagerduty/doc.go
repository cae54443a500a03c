// Package pagerduty is the sink that sends each notification to PagerDuty's Events API v2
// as an event on the incident's dedup_key (the flowwatch incident id): "trigger" while the
// incident has alerts in force (each update triggers again, which PagerDuty folds into the
// same incident), "resolve" once a reorg retracted all of them.
//
// The event's payload: summary (the headline), source ("flowwatch/<chain>"), severity
// (critical → critical, high → error, medium → warning, else info), timestamp, component
// (the destination), group (the source entity), class (the rule), and custom_details with
// the incident and the notification's alerts; links to the transactions.
//
// The routing key is a secret: it never appears in errors. 2xx (202) is success; 429
// (after its Retry-After) and 5xx are retried; other statuses (400: invalid event) are
// refused for good. A Sink is safe for concurrent use.
package pagerduty
