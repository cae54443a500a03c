// Package ethereum is the EVM chain source: it fetches blocks, receipts and call traces over
// go-ethereum's rpc.Client, decodes them from raw JSON (so that transaction types go-ethereum
// does not know, such as L2 deposit and Arbitrum types, still decode) and turns them into
// chains.Movements: native transfers, ERC-20 Transfer logs and internal value transfers.
//
// The decoders accept only the fields flowwatch needs and check each of them; a malformed,
// truncated or inconsistent response is an error that names the block, never a panic and
// never a silently empty block. [Source] retries such errors, timeouts, HTTP 429/5xx and
// JSON-RPC rate limits with capped exponential backoff and jitter.
//
// A Source is safe for concurrent use.
package ethereum
