// Package webhook is the sink that POSTs each notification as JSON to an HTTP(S) endpoint,
// signed with HMAC-SHA256 so that the receiver can tell it came from this flowwatch.
//
// Each request carries one notification (Payload):
//
//	Content-Type: application/json
//	X-Flowwatch-Timestamp: <unix seconds>
//	X-Flowwatch-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	Idempotency-Key: <incident id>:<notification number>
//
//	{"version": 2, "key": "<the Idempotency-Key>",
//	 "incident": {"id", "seq", "reason", "status", "rule", "chain", "severity", "source",
//	              "destination", "opened", "updated", "alerts", "retracted", "totals",
//	              "max_hops"},
//	 "alerts": [<the alerts the notification tells: new ones, retractions; in a reminder
//	            the latest>]}
//
// To verify, recompute the HMAC over the timestamp header, a dot and the raw body with the
// shared secret, compare it in constant time with the signature header, and reject
// timestamps more than a few minutes old (replays). Verify below does exactly that, and
// Receive reads, verifies and decodes a request with it. A receiver should drop a repeated
// Idempotency-Key: delivery is at least once.
//
// 2xx is success; 408, 429 and 5xx are retried (after the Retry-After the receiver
// gives); other statuses are refused for good. A Sink is safe for concurrent use.
package webhook
