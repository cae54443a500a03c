// Package email is the sink that mails each notification over SMTP, with STARTTLS (or
// implicit TLS) and authentication: a plain-text message whose subject is the headline
// (severity, rule, what happened, source → destination) and whose body gives the incident's
// totals and each alert with its transaction, path and explorer link. Its Message-ID holds
// the notification's key, so that a mail system or a reader can drop a repeat.
//
// An SMTP 4xx reply or a connection failure is retried; a 5xx reply is refused for good.
// The password never appears in errors. A Sink is safe for concurrent use.
package email
