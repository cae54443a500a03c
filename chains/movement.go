package chains

import (
	"cmp"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Family is a kind of chain that shares an address format and a transaction model.
type Family string

// The chain families flowwatch understands.
const (
	FamilyEVM     Family = "evm"
	FamilyBitcoin Family = "bitcoin"
)

// Kind says what produced a movement.
type Kind string

// Movement kinds, as they appear in the extract schema.
const (
	// KindNative is an EVM transaction's own value (position PositionTx).
	KindNative Kind = "native"
	// KindToken is an ERC-20 Transfer log (position "log:<logIndex>").
	KindToken Kind = "token"
	// KindInternal is a value-carrying frame inside an EVM call trace ("trace:<path>").
	KindInternal Kind = "internal"
	// KindUTXO is a Bitcoin transaction with its inputs and outputs.
	KindUTXO Kind = "utxo"
	// KindEvent is a contract's log that says a depositor paid the contract
	// (Movement.Event) where no value movement of the depositor's in the transaction
	// carries the deposit: from the depositor (input) to the contract (output), with the
	// amount the log names or the transaction's value (0 when neither shows it). It is not
	// a movement of value: it is not in `extract`'s output.
	KindEvent Kind = "event"
)

// Events a source recognizes in contract logs (Movement.Event).
const (
	// EventMixerDeposit: a Tornado Cash pool's Deposit(bytes32,uint32,uint256) log.
	EventMixerDeposit = "mixer_deposit"
	// EventBridgeDeposit: a bridge's deposit log (Movement.ToChain names the destination
	// when the log does).
	EventBridgeDeposit = "bridge_deposit"
)

// AssetNative names a chain's own coin in Leg.Asset.
const AssetNative = "native"

// PositionTx is the position of an EVM transaction's own value.
const PositionTx = "tx"

// PositionLog returns the position of the log with the given block-wide index.
func PositionLog(logIndex uint64) string { return "log:" + strconv.FormatUint(logIndex, 10) }

// PositionVout returns the position of a Bitcoin output.
func PositionVout(index uint32) string { return "vout:" + strconv.FormatUint(uint64(index), 10) }

// BlockRef places a block in its chain.
type BlockRef struct {
	Number     uint64
	Hash       string // lower-case hex; 0x-prefixed on EVM chains
	ParentHash string
	Time       time.Time // UTC
}

// Leg is one side of a movement: who sent or received how much of what.
type Leg struct {
	// Address is normalized for its chain family (see NormalizeAddress). It is empty for
	// outputs that pay no address (OP_RETURN, non-standard scripts, coinbase inputs).
	Address string
	// Asset is AssetNative or, for tokens, the token contract's normalized address.
	Asset string
	// Amount is in base units (wei, token base units, satoshi). Never nil in a valid leg.
	Amount *big.Int

	// Bitcoin only.
	PrevTx     string // spent output's transaction id (inputs)
	PrevIndex  uint32 // spent output's index (inputs)
	Coinbase   bool   // the input mints new coins
	Index      uint32 // output index (outputs)
	ScriptType string // output script type, e.g. "nulldata" for OP_RETURN
}

// Movement is one transaction's value flow: an EVM transfer (one input, one output) or a
// Bitcoin transaction (all its inputs and outputs). (Chain, Tx, Position) identifies it.
type Movement struct {
	Chain    string
	Block    BlockRef
	Tx       string // transaction hash, lower-case hex
	TxIndex  uint   // the transaction's index in its block
	Position string // PositionTx, "log:<n>", "trace:<path>" or "vout:<n>"
	Kind     Kind
	Inputs   []Leg
	Outputs  []Leg
	// Removed marks a movement of a block that a reorg orphaned.
	Removed bool
	// Event is what a contract's log in the same transaction says this movement is, when
	// the source recognized one (EventMixerDeposit, EventBridgeDeposit): the depositor's
	// value movement into the contract, or into a router that passed it on, carries it;
	// failing that a KindEvent movement is made for it. "" for most movements.
	Event string
	// EventContract is the contract that emitted the log: the mixer pool or bridge the
	// value reached (through a router when it is not the movement's recipient).
	EventContract string
	// ToChain is, for a bridge deposit whose log names it, the destination chain's id
	// (decimal, as the bridge numbers chains: EIP-155 ids for EVM chains).
	ToChain string
}

// Key returns the identity of the movement, "<chain>/<tx>/<position>", used for
// idempotency and deduplication.
func (m *Movement) Key() string { return m.Chain + "/" + m.Tx + "/" + m.Position }

// Transfer returns the sender and receiver of an account-chain transfer of value between
// two addresses; ok is false for anything else: a Bitcoin transaction, an event movement,
// a zero-value transfer, a payment to oneself.
func (m *Movement) Transfer() (from, to *Leg, ok bool) {
	if m.Kind == KindUTXO || m.Kind == KindEvent || len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, nil, false
	}
	from, to = &m.Inputs[0], &m.Outputs[0]
	if from.Address == "" || to.Address == "" || from.Address == to.Address ||
		to.Amount == nil || to.Amount.Sign() <= 0 {
		return nil, nil, false
	}
	return from, to, true
}

// Block is one block's reference and the movements it holds, in block order.
type Block struct {
	Ref       BlockRef
	Movements []Movement
}

// ComparePositions orders two positions of one transaction as block extraction lists its
// movements: the transaction's own value, then its logs by index, then its internal
// transfers depth first (trace:0 before trace:0_0 before trace:1), then anything else.
func ComparePositions(a, b string) int {
	ra, ka := positionKey(a)
	rb, kb := positionKey(b)
	if c := cmp.Compare(ra, rb); c != 0 {
		return c
	}
	return slices.Compare(ka, kb)
}

// positionKey ranks a position and gives the numbers that order it within its rank.
func positionKey(p string) (int, []uint64) {
	if p == PositionTx {
		return 0, nil
	}
	if n, ok := strings.CutPrefix(p, "log:"); ok {
		v, _ := strconv.ParseUint(n, 10, 64)
		return 1, []uint64{v}
	}
	if path, ok := strings.CutPrefix(p, "trace:"); ok {
		var key []uint64
		for _, part := range strings.Split(path, "_") {
			v, _ := strconv.ParseUint(part, 10, 64)
			key = append(key, v)
		}
		return 2, key
	}
	if n, ok := strings.CutPrefix(p, "vout:"); ok {
		v, _ := strconv.ParseUint(n, 10, 64)
		return 3, []uint64{v}
	}
	return 4, nil
}
