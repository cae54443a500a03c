// Package anviltest starts Foundry's Anvil, a development node that serves trace_filter
// and trace_transaction (which geth does not), for tests of the code that reads them.
//
// Anvil comes from the npm registry (@foundry-rs/anvil, AnvilVersion): on PATH, at
// $FLOWWATCH_ANVIL, or installed by `npm install --prefix ~/.cache/flowwatch/anvil
// @foundry-rs/anvil@1.7.1` (what .ci/run does). Without it the tests skip, or fail in CI
// (testtool.Missing).
package anviltest
