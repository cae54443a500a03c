package ethereum

// Contract logs that say where a transaction's value went: a Tornado Cash pool's Deposit,
// and the deposit logs of bridges that name the destination chain.

import (
	"encoding/hex"
	"math/big"

	"github.com/flowwatch/flowwatch/chains"
)

// Topics (keccak-256 of the signature) of the logs the source recognizes; events_test.go
// checks each against its signature.
const (
	// Tornado Cash pool: Deposit(bytes32 indexed commitment, uint32 leafIndex,
	// uint256 timestamp).
	tornadoDepositTopic = "0xa945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196"
	// Multichain (Anyswap) router: LogAnySwapOut(address indexed token, address indexed
	// from, address indexed to, uint256 amount, uint256 fromChainID, uint256 toChainID).
	anySwapOutTopic = "0x97116cf6cd4f6412bb47914d6db18da9e16ab2142f543b86e207c24fbd16b23a"
	// Synapse bridge: TokenDeposit(address indexed to, uint256 chainId, address token,
	// uint256 amount).
	synapseDepositTopic = "0xda5273705dbef4bf1b902a131c2eac086b7e1476a8ab0cb4da08af1fe1bd8e3b"
	// Hop L1 bridge: TransferSentToL2(uint256 indexed chainId, address indexed recipient,
	// uint256 amount, uint256 amountOutMin, uint256 deadline, address indexed relayer,
	// uint256 relayerFee).
	hopSentToL2Topic = "0x0a0607688c86ec1775abcdbab7b33a3a35a6c9cde677c9be880150c231cc6b0b"
	// Across spoke pool: V3FundsDeposited(address inputToken, address outputToken,
	// uint256 inputAmount, uint256 outputAmount, uint256 indexed destinationChainId,
	// uint32 indexed depositId, uint32 quoteTimestamp, uint32 fillDeadline,
	// uint32 exclusivityDeadline, address indexed depositor, address recipient,
	// address exclusiveRelayer, bytes message).
	acrossV3Topic = "0xa123dc29aebf7d0c3322c8eeb5b999e859f39937950ed31056532713d0de396f"
)

// recognized is what a log says about a deposit into the contract that emitted it.
type recognized struct {
	event   string // chains.EventMixerDeposit or chains.EventBridgeDeposit
	toChain string // the destination chain's id, when the log names it
	// depositor is whose value it is, when the log names it; "" means the transaction's
	// sender.
	depositor string
	// asset and amount are what was deposited, when the log names them (amount nil:
	// it does not).
	asset  string
	amount *big.Int
}

// recognize says whether a log is one of the deposit logs the source knows, and what it
// says. A log with the right topic but the wrong shape (topics, data) is not recognized:
// contracts may reuse a signature for other layouts.
func recognize(l *rpcLog) (recognized, bool) {
	if len(l.Topics) == 0 {
		return recognized{}, false
	}
	d := l.Data
	switch l.Topics[0] {
	case tornadoDepositTopic:
		if len(l.Topics) == 2 && len(d) == 64 {
			return recognized{event: chains.EventMixerDeposit}, true
		}
	case anySwapOutTopic:
		if len(l.Topics) == 4 && len(d) == 96 {
			token, ok1 := topicAddr(l.Topics[1])
			from, ok2 := topicAddr(l.Topics[2])
			if ok1 && ok2 {
				return recognized{event: chains.EventBridgeDeposit, toChain: wordDec(d, 2),
					depositor: from, asset: token, amount: word(d, 0)}, true
			}
		}
	case synapseDepositTopic:
		if token, ok := wordAddr(d, 1); ok && len(l.Topics) == 2 && len(d) == 96 {
			return recognized{event: chains.EventBridgeDeposit, toChain: wordDec(d, 0),
				asset: token, amount: word(d, 2)}, true
		}
	case hopSentToL2Topic:
		if len(l.Topics) == 4 && len(d) == 128 {
			return recognized{event: chains.EventBridgeDeposit,
				toChain: topicDec(l.Topics[1]), amount: word(d, 0)}, true
		}
	case acrossV3Topic:
		if len(l.Topics) == 4 && len(d) >= 32*10 {
			token, ok1 := wordAddr(d, 0)
			depositor, ok2 := topicAddr(l.Topics[3])
			if ok1 && ok2 {
				return recognized{event: chains.EventBridgeDeposit,
					toChain: topicDec(l.Topics[1]), depositor: depositor, asset: token,
					amount: word(d, 2)}, true
			}
		}
	}
	return recognized{}, false
}

// word returns the i-th 32-byte word of d (len(d) >= 32(i+1)).
func word(d []byte, i int) *big.Int { return new(big.Int).SetBytes(d[32*i : 32*(i+1)]) }

func wordDec(d []byte, i int) string { return word(d, i).String() }

// wordAddr returns the i-th word of d as an address; ok is false if d is too short or the
// word's top 12 bytes are not zero.
func wordAddr(d []byte, i int) (string, bool) {
	if len(d) < 32*(i+1) {
		return "", false
	}
	w := d[32*i : 32*(i+1)]
	for _, b := range w[:12] {
		if b != 0 {
			return "", false
		}
	}
	return "0x" + hex.EncodeToString(w[12:]), true
}

// topicAddr returns an indexed address; ok is false if the topic's top 12 bytes are not
// zero.
func topicAddr(t hash) (string, bool) {
	b, err := hex.DecodeString(string(t[2:]))
	if err != nil || len(b) != 32 {
		return "", false
	}
	return wordAddr(b, 0)
}

// topicDec returns an indexed uint256 in decimal.
func topicDec(t hash) string {
	n, _ := new(big.Int).SetString(string(t[2:]), 16)
	if n == nil {
		return ""
	}
	return n.String()
}

// appendEvents marks the deposits that tx's logs recognize (out holds the transaction's
// value movements; tx's sender is from, its own value value). A deposit that a value
// movement of the depositor's carries — straight into the contract, or into a router in
// the same asset — is marked on that movement (Event, EventContract, ToChain), so that the
// funds reach the mixer or bridge on the hop that moved them; otherwise a KindEvent
// movement from the depositor to the contract is appended, with the amount the log names,
// or that reached the contract in the transaction, or the transaction's value (0 when
// none shows it).
func appendEvents(out []chains.Movement, base chains.Movement, from string, value *big.Int,
	logs []rpcLog) []chains.Movement {
	n := len(out) // value movements; events appended after them are not candidates
	for i := range logs {
		l := &logs[i]
		rec, ok := recognize(l)
		if !ok {
			continue
		}
		contract := string(l.Address)
		depositor := rec.depositor
		if depositor == "" {
			depositor = from
		}
		if j := carrier(out[:n], depositor, contract, rec.asset); j >= 0 {
			m := &out[j]
			m.Event, m.EventContract, m.ToChain = rec.event, contract, rec.toChain
			continue
		}
		asset, amount := rec.asset, rec.amount
		if amount == nil { // what reached the contract in the transaction, from anyone
			for j := range out[:n] {
				if o := out[j].Outputs[0]; o.Address == contract && (asset == "" ||
					o.Asset == asset) {
					asset, amount = o.Asset, new(big.Int).Set(o.Amount)
					break
				}
			}
		}
		if asset == "" {
			asset = chains.AssetNative
		}
		if amount == nil {
			amount = new(big.Int)
			if asset == chains.AssetNative && value != nil {
				amount.Set(value)
			}
		}
		m := transfer(base, chains.PositionLog(uint64(*l.LogIndex)), chains.KindEvent,
			depositor, contract, asset, amount)
		m.Event, m.EventContract, m.ToChain = rec.event, contract, rec.toChain
		out = append(out, m)
	}
	return out
}

// carrier returns the index in ms of the unmarked value movement that carries a deposit of
// depositor's into contract: one from the depositor straight into the contract, else the
// first from the depositor in the deposit's asset ("" any); -1 if none.
func carrier(ms []chains.Movement, depositor, contract, asset string) int {
	first := -1
	for j := range ms {
		m := &ms[j]
		if m.Event != "" || m.Inputs[0].Address != depositor ||
			asset != "" && m.Inputs[0].Asset != asset {
			continue
		}
		if m.Outputs[0].Address == contract {
			return j
		}
		if first < 0 {
			first = j
		}
	}
	return first
}
