// Package bitcoin is the Bitcoin source: blocks from a btcd or bitcoind node over JSON-RPC
// (btcd's rpcclient in HTTP POST mode), each transaction decoded into one movement of kind
// utxo with every input resolved to the output it spends (address and value) and every
// output with its address and script type.
//
// Prevouts come from getblock verbosity 3 where the node offers it (bitcoind 23 and later)
// and otherwise from getrawtransaction, which needs the node's transaction index, through a
// bounded cache of recent outputs. A node that offers neither is an error at Dial, never
// inputs silently left without an address or value.
//
// Addresses are computed from each output script for the configured network (btcd's
// txscript), so that the node's output shape (scriptPubKey.addresses[] before bitcoind 22,
// address after) does not matter; where the node names an address it must agree, which
// catches a source configured for the wrong network. A P2PK output's address is the P2PKH
// encoding of its key, as explorers show it; bare multisig, OP_RETURN and non-standard
// outputs have no address and keep their script type.
//
// Amounts are satoshis parsed from the node's decimal BTC values as text, never through a
// float. A Source is safe for concurrent use.
package bitcoin
