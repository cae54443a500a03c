// Package queuetest is the conformance suite that every queue implementation passes.
package queuetest
