// Package journaltest is the conformance suite that every alerting.Journal passes.
package journaltest
