// Package alerting owns the Alert model and how alerts reach people, in Alertmanager's
// shape:
//
//	workers ─Stage─▶ JournalStage ─▶ Journal (the alert log: hash-chained, deduplicated)
//	                                     │
//	      Dispatcher: Grouper (incidents: group wait, interval, repeat, escalation)
//	                  ─▶ RouteNode (routing tree) ─▶ per-sink queues (DispatchStore)
//	                  ─▶ one deliverer per sink (rate limit, retry with backoff or
//	                     Retry-After, dead letters) ─▶ Notifier (webhook, slack, email,
//	                     pagerduty, file)
//
// The workers' alerts are accepted once they are in the journal (Journal.Append drops a
// notification appended before, so a redelivered movement notifies nothing twice). The
// dispatcher reads the journal, gathers alerts of one flow into an incident (Incident,
// Grouper), and queues each notification that falls due on the sinks the routing tree
// names, saving what it read, grouped and queued at once; each sink's deliverer sends its
// queue in order until the sink takes each notification or refuses it for good.
//
// Delivery is at least once per sink: a notification delivered just before a crash (not
// a graceful stop) may be sent again, under the same key (Alert.NotificationKey: the
// webhook's Idempotency-Key, the email's Message-ID), which receivers drop.
//
// Stages, journals, stores and sinks are safe for concurrent use; a Grouper is not (the
// dispatcher's loop owns it).
package alerting
