// Package slack is the sink that posts each notification to a Slack incoming webhook as a
// Block Kit message: a header with the severity, the rule and what happened (incident
// opened, updated, escalated, retracted, reminder); the source and the destination; the
// incident's totals and hop count; then each alert of the notification (up to
// MaxAlertsShown) with its amount, transaction (an explorer link) and path.
//
// The webhook URL is a secret (it holds the token): it never appears in errors. 2xx is
// success; 429 (after its Retry-After) and 5xx are retried; other statuses (a revoked
// webhook's 403/404, an invalid payload's 400) are refused for good. Slack has no
// idempotency key: a notification repeated after a crash shows twice. A Sink is safe for
// concurrent use.
package slack
