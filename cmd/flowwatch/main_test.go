package main

import (
	"os"
	"testing"
)

// TestMain lets a test start this test binary as the flowwatch command (for kill -9
// tests): with FLOWWATCH_RUN_MAIN=1 it runs main's body instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("FLOWWATCH_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
