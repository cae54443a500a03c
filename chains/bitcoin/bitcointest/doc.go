// Package bitcointest serves bitcoin-etl's recorded mainnet node responses over JSON-RPC,
// for tests of the Bitcoin source and of the commands that use it.
package bitcointest
