// Package testtool decides what a test does when an outside program it needs (Chromium,
// Graphviz's dot, Anvil) is missing: on a developer's machine the test skips, saying how to
// install the program; where RequireEnv is set (.ci/run sets it, having installed them all)
// the test fails, so that CI never passes a test it did not run.
package testtool
