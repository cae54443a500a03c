// Package sinktest is the conformance suite that every alert sink passes, each against a
// real endpoint of its kind started by the test (an HTTP server, an SMTP server, a file).
package sinktest
