package simnet

import (
	"errors"
	"fmt"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Key is a key of ours on simnet and its P2PKH address, to spend outputs paid to it
// one by one (the harness wallet chooses its own inputs).
type Key struct {
	Priv *btcec.PrivateKey
	Addr btcaddr.Address
}

// NewKey returns a fresh key.
func NewKey() (Key, error) {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		return Key{}, err
	}
	pk, err := btcaddr.NewAddressPubKey(priv.PubKey().SerializeCompressed(),
		&chaincfg.SimNetParams)
	if err != nil {
		return Key{}, err
	}
	return Key{Priv: priv, Addr: pk.AddressPubKeyHash()}, nil
}

// Pay is an output to create.
type Pay struct {
	To     btcaddr.Address
	Amount int64 // satoshi
}

// Input is an output of ours to spend: prevTx:prevIndex, worth Value, paid to Key.
type Input struct {
	Key       Key
	PrevTx    *chainhash.Hash
	PrevIndex uint32
	Value     int64
}

// Spend signs and broadcasts a transaction spending the output prevTx:prevIndex, worth
// value and paid to from, into pays; what the pays leave is the fee.
func (n *Node) Spend(from Key, prevTx *chainhash.Hash, prevIndex uint32, value int64,
	pays ...Pay) (*chainhash.Hash, error) {
	return n.SpendAll([]Input{{Key: from, PrevTx: prevTx, PrevIndex: prevIndex, Value: value}},
		pays...)
}

// SpendAll signs and broadcasts a transaction spending ins, in order, into pays, in order;
// what the pays leave is the fee.
func (n *Node) SpendAll(ins []Input, pays ...Pay) (*chainhash.Hash, error) {
	tx := wire.NewMsgTx(2)
	value := int64(0)
	for _, in := range ins {
		tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(in.PrevTx, in.PrevIndex), nil, nil))
		value += in.Value
	}
	total := int64(0)
	for _, p := range pays {
		script, err := txscript.PayToAddrScript(p.To)
		if err != nil {
			return nil, err
		}
		tx.AddTxOut(wire.NewTxOut(p.Amount, script))
		total += p.Amount
	}
	if total >= value {
		return nil, errors.New("spend: the outputs leave no fee")
	}
	for i, in := range ins {
		prevScript, err := txscript.PayToAddrScript(in.Key.Addr)
		if err != nil {
			return nil, err
		}
		sig, err := txscript.SignatureScript(tx, i, prevScript, txscript.SigHashAll,
			in.Key.Priv, true)
		if err != nil {
			return nil, err
		}
		tx.TxIn[i].SignatureScript = sig
	}
	h, err := n.Client.SendRawTransaction(tx, true)
	if err != nil {
		return nil, fmt.Errorf("spend %s:%d: %w", ins[0].PrevTx, ins[0].PrevIndex, err)
	}
	return h, nil
}
