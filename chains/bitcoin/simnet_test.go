package bitcoin

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
)

// TestSimnetPayments: against a real btcd in simnet, a payment to P2PKH, P2WPKH and P2TR
// addresses (and an OP_RETURN) is extracted with every output's address, script type and
// amount, and its inputs resolved to the outputs they spend (getrawtransaction), the
// difference being the fee. Tx finds the payment alone, in the mempool and once mined.
func TestSimnetPayments(t *testing.T) {
	ctx := context.Background()
	node := simnet.Start(t)
	params := &chaincfg.SimNetParams
	p2pkh, err := node.NewAddress()
	if err != nil {
		t.Fatal(err)
	}
	p2wpkh, err := btcaddr.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{7}, 20), params)
	if err != nil {
		t.Fatal(err)
	}
	p2tr, err := btcaddr.NewAddressTaproot(bytes.Repeat([]byte{9}, 32), params)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		addr   btcaddr.Address
		amount int64
		typ    string
	}{{p2pkh, 1_000_000, "pubkeyhash"}, {p2wpkh, 2_000_000, "witness_v0_keyhash"},
		{p2tr, 3_000_000, "witness_v1_taproot"}}
	var outs []*wire.TxOut
	for _, w := range want {
		script, err := txscript.PayToAddrScript(w.addr)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, wire.NewTxOut(w.amount, script))
	}
	opReturn, err := txscript.NullDataScript([]byte("flowwatch"))
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, wire.NewTxOut(0, opReturn))
	src, err := Dial(ctx, node.URL(), Options{Network: "simnet",
		Certificates: node.Certificates(), Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	txid, err := node.SendOutputs(outs, btcutil.Amount(10))
	if err != nil {
		t.Fatal(err)
	}
	pending, err := src.Tx(ctx, txid.String()) // in the mempool
	if err != nil || pending.Mined || pending.Partial || len(pending.Movements) != 1 {
		t.Fatalf("pending transaction: %+v, %v", pending, err)
	}
	hashes, err := node.Client.Generate(1)
	if err != nil {
		t.Fatal(err)
	}
	_, height, err := node.Client.GetBestBlock()
	if err != nil {
		t.Fatal(err)
	}

	b, err := src.Block(ctx, uint64(height))
	if err != nil {
		t.Fatal(err)
	}
	if b.Ref.Hash != hashes[0].String() {
		t.Fatalf("block hash %s, want %s", b.Ref.Hash, hashes[0])
	}
	var m *chains.Movement
	for i := range b.Movements {
		if b.Movements[i].Tx == txid.String() {
			m = &b.Movements[i]
		}
	}
	if m == nil || len(b.Movements) != 2 || !b.Movements[0].Inputs[0].Coinbase {
		t.Fatalf("block %d: want the coinbase and payment %s, got %d movements", height, txid,
			len(b.Movements))
	}
	found := map[string]chains.Leg{}
	var outSum, inSum int64
	for _, o := range m.Outputs {
		found[o.Address] = o
		outSum += o.Amount.Int64()
		if o.ScriptType == "nulldata" && (o.Address != "" || o.Amount.Sign() != 0) {
			t.Fatalf("OP_RETURN output %+v", o)
		}
	}
	for _, w := range want {
		o, ok := found[w.addr.EncodeAddress()]
		if !ok || o.Amount.Int64() != w.amount || o.ScriptType != w.typ {
			t.Fatalf("output to %s: %+v, want %d sat %s", w.addr, o, w.amount, w.typ)
		}
	}
	for _, in := range m.Inputs {
		if in.Address == "" || in.Amount.Sign() <= 0 || in.PrevTx == "" ||
			in.ScriptType != "pubkeyhash" {
			t.Fatalf("input not resolved to the wallet's output: %+v", in)
		}
		inSum += in.Amount.Int64()
	}
	if fee := inSum - outSum; fee <= 0 || fee > 100_000 {
		t.Fatalf("inputs %d - outputs %d = fee %d", inSum, outSum, fee)
	}

	// Looked up alone, the transaction is what the block gave, before and after mining.
	mined, err := src.Tx(ctx, txid.String())
	if err != nil || !mined.Mined || mined.Block != b.Ref {
		t.Fatalf("mined transaction: %+v, %v; want in block %+v", mined, err, b.Ref)
	}
	for _, got := range []chains.Movement{pending.Movements[0], mined.Movements[0]} {
		got.Block, got.TxIndex = m.Block, m.TxIndex
		if !reflect.DeepEqual(got, *m) {
			t.Fatalf("looked up:\n%+v\nin the block:\n%+v", got, *m)
		}
	}
	if _, err := src.Tx(ctx, strings.Repeat("ab", 32)); !errors.Is(err, chains.ErrTxNotFound) {
		t.Fatalf("unknown transaction: %v, want ErrTxNotFound", err)
	}
}
