package bitcoin

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"

	"github.com/flowwatch/flowwatch/chains"
)

// rpcBlock is getblock's result at verbosity 2 or 3.
type rpcBlock struct {
	Hash         string  `json:"hash"`
	Height       *uint64 `json:"height"`
	PreviousHash string  `json:"previousblockhash"`
	Time         *int64  `json:"time"`
	Tx           []rpcTx `json:"tx"`
	RawTx        []rpcTx `json:"rawtx"` // btcd names the verbose transactions so
}

// rpcTx is a transaction as getblock (verbosity 2 and 3) and getrawtransaction (verbose)
// give it.
type rpcTx struct {
	Txid string   `json:"txid"`
	Vin  []rpcVin `json:"vin"`
	Vout []rpcOut `json:"vout"`
}

type rpcVin struct {
	Coinbase *string `json:"coinbase"`
	Txid     string  `json:"txid"`
	Vout     *uint32 `json:"vout"`
	Prevout  *rpcOut `json:"prevout"` // verbosity 3
}

type rpcOut struct {
	Value        json.Number  `json:"value"`
	N            *uint32      `json:"n"`
	ScriptPubKey rpcScriptKey `json:"scriptPubKey"`
}

type rpcScriptKey struct {
	Hex       string   `json:"hex"`
	Type      string   `json:"type"`
	Address   string   `json:"address"`   // bitcoind 22 and later
	Addresses []string `json:"addresses"` // before
}

// output is a resolved transaction output: what an input spends.
type output struct {
	Address    string
	Value      int64 // satoshi
	ScriptType string
}

const satoshiPerBTC = 100_000_000

// maxSatoshi is the 21 million BTC cap; a value above it is a malformed response.
const maxSatoshi = 21_000_000 * satoshiPerBTC

// parseBTC converts a decimal BTC amount, as the node writes it, to satoshis exactly.
func parseBTC(n json.Number) (int64, error) {
	s := string(n)
	if s == "" {
		return 0, errors.New("missing value")
	}
	if strings.ContainsAny(s, "eE") { // 1e-08: the node may write small values so
		f, ok := new(big.Rat).SetString(s)
		if !ok {
			return 0, fmt.Errorf("value %q: not a number", s)
		}
		f.Mul(f, big.NewRat(satoshiPerBTC, 1))
		if !f.IsInt() || f.Sign() < 0 || f.Num().Cmp(big.NewInt(maxSatoshi)) > 0 {
			return 0, fmt.Errorf("value %q: not a whole, valid number of satoshis", s)
		}
		return f.Num().Int64(), nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 8 || strings.HasPrefix(whole, "-") {
		return 0, fmt.Errorf("value %q: want a non-negative amount with at most 8 decimals", s)
	}
	var sat int64
	for _, c := range whole + frac + strings.Repeat("0", 8-len(frac)) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("value %q: not a number", s)
		}
		sat = sat*10 + int64(c-'0')
		if sat > maxSatoshi {
			return 0, fmt.Errorf("value %q: above 21 million BTC", s)
		}
	}
	return sat, nil
}

// decodeOutput resolves an output: its value, and its address and script type from the
// script for params. Where the node names a single address it must be the same.
func decodeOutput(o *rpcOut, params *chaincfg.Params) (output, error) {
	v, err := parseBTC(o.Value)
	if err != nil {
		return output{}, err
	}
	script, err := hex.DecodeString(o.ScriptPubKey.Hex)
	if err != nil {
		return output{}, fmt.Errorf("script %q: not hex", o.ScriptPubKey.Hex)
	}
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(script, params)
	if err != nil {
		class, addrs = txscript.NonStandardTy, nil
	}
	out := output{Value: v, ScriptType: class.String()}
	switch class {
	case txscript.PubKeyTy:
		if len(addrs) == 1 {
			if pk, ok := addrs[0].(*btcaddr.AddressPubKey); ok {
				out.Address = pk.AddressPubKeyHash().EncodeAddress()
			}
		}
	case txscript.PubKeyHashTy, txscript.ScriptHashTy, txscript.WitnessV0PubKeyHashTy,
		txscript.WitnessV0ScriptHashTy, txscript.WitnessV1TaprootTy:
		if len(addrs) == 1 {
			out.Address = addrs[0].EncodeAddress()
		}
		node := o.ScriptPubKey.Address
		if node == "" && len(o.ScriptPubKey.Addresses) == 1 {
			node = o.ScriptPubKey.Addresses[0]
		}
		if node != "" && node != out.Address {
			return output{}, fmt.Errorf("node says address %s, the script is %q on %s: is "+
				"the network right?", node, out.Address, params.Name)
		}
	}
	return out, nil
}

// prevouts resolves the outputs that a block's inputs spend, given as (txid, vout) pairs
// that getblock did not resolve itself.
type prevouts func(spends []outpoint) (map[outpoint]output, error)

type outpoint struct {
	Tx    string
	Index uint32
}

// decodeBlock turns a getblock result into movements, one per transaction, in block order.
// Inputs without a prevout in the response are resolved through resolve. Errors do not
// name the block: the caller, who asked for it by number, does.
func decodeBlock(raw json.RawMessage, chain string, params *chaincfg.Params,
	resolve prevouts) (*chains.Block, error) {
	var b rpcBlock
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	if len(b.Tx) == 0 {
		b.Tx = b.RawTx
	}
	if b.Height == nil || b.Time == nil || len(b.Hash) != 64 || len(b.Tx) == 0 {
		return nil, errors.New("decode block: missing hash, height, time or transactions")
	}
	ref := chains.BlockRef{Number: *b.Height, Hash: strings.ToLower(b.Hash),
		ParentHash: strings.ToLower(b.PreviousHash), Time: unixUTC(*b.Time)}
	var missing []outpoint
	for i := range b.Tx {
		missing = b.Tx[i].appendMissing(missing)
	}
	var resolved map[outpoint]output
	if len(missing) > 0 {
		if resolve == nil {
			return nil, errors.New("inputs without prevouts and no way to resolve them")
		}
		var err error
		if resolved, err = resolve(missing); err != nil {
			return nil, fmt.Errorf("resolve prevouts: %w", err)
		}
	}
	blk := &chains.Block{Ref: ref, Movements: make([]chains.Movement, 0, len(b.Tx))}
	for i := range b.Tx {
		m, err := decodeTx(&b.Tx[i], params, resolved)
		if err != nil {
			return nil, fmt.Errorf("tx %d: %w", i, err)
		}
		m.Chain, m.Block, m.TxIndex = chain, ref, uint(i)
		blk.Movements = append(blk.Movements, m)
	}
	return blk, nil
}

// appendMissing appends the outpoints that tx's inputs spend and the response did not
// resolve (no prevout: getblock below verbosity 3, getrawtransaction).
func (tx *rpcTx) appendMissing(out []outpoint) []outpoint {
	for j := range tx.Vin {
		in := &tx.Vin[j]
		if in.Coinbase == nil && in.Prevout == nil && in.Vout != nil {
			out = append(out, outpoint{Tx: strings.ToLower(in.Txid), Index: *in.Vout})
		}
	}
	return out
}

func decodeTx(tx *rpcTx, params *chaincfg.Params, resolved map[outpoint]output) (
	chains.Movement, error) {
	if len(tx.Txid) != 64 || len(tx.Vin) == 0 || len(tx.Vout) == 0 {
		return chains.Movement{}, errors.New("missing txid, inputs or outputs")
	}
	m := chains.Movement{Tx: strings.ToLower(tx.Txid), Position: chains.PositionTx,
		Kind: chains.KindUTXO}
	for j := range tx.Vin {
		in := &tx.Vin[j]
		if in.Coinbase != nil {
			m.Inputs = append(m.Inputs, chains.Leg{Asset: chains.AssetNative,
				Amount: new(big.Int), Coinbase: true})
			continue
		}
		if in.Vout == nil || len(in.Txid) != 64 {
			return chains.Movement{}, fmt.Errorf("input %d: missing txid or vout", j)
		}
		op := outpoint{Tx: strings.ToLower(in.Txid), Index: *in.Vout}
		var prev output
		if in.Prevout != nil {
			var err error
			if prev, err = decodeOutput(in.Prevout, params); err != nil {
				return chains.Movement{}, fmt.Errorf("input %d prevout: %w", j, err)
			}
		} else {
			var ok bool
			if prev, ok = resolved[op]; !ok {
				return chains.Movement{}, fmt.Errorf("input %d: prevout %s:%d not resolved",
					j, op.Tx, op.Index)
			}
		}
		m.Inputs = append(m.Inputs, chains.Leg{Address: prev.Address, Asset: chains.AssetNative,
			Amount: big.NewInt(prev.Value), PrevTx: op.Tx, PrevIndex: op.Index,
			ScriptType: prev.ScriptType})
	}
	for j := range tx.Vout {
		o := &tx.Vout[j]
		out, err := decodeOutput(o, params)
		if err != nil {
			return chains.Movement{}, fmt.Errorf("output %d: %w", j, err)
		}
		idx := uint32(j)
		if o.N != nil {
			idx = *o.N
		}
		m.Outputs = append(m.Outputs, chains.Leg{Address: out.Address, Asset: chains.AssetNative,
			Amount: big.NewInt(out.Value), Index: idx, ScriptType: out.ScriptType})
	}
	return m, nil
}

func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
