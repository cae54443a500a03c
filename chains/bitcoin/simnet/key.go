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

// Spend signs and broadcasts a transaction spending the output prevTx:prevIndex, worth
// value and paid to from, into pays; what the pays leave is the fee.
func (n *Node) Spend(from Key, prevTx *chainhash.Hash, prevIndex uint32, value int64,
	pays ...Pay) (*chainhash.Hash, error) {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(prevTx, prevIndex), nil, nil))
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
	prevScript, err := txscript.PayToAddrScript(from.Addr)
	if err != nil {
		return nil, err
	}
	sig, err := txscript.SignatureScript(tx, 0, prevScript, txscript.SigHashAll, from.Priv, true)
	if err != nil {
		return nil, err
	}
	tx.TxIn[0].SignatureScript = sig
	h, err := n.Client.SendRawTransaction(tx, true)
	if err != nil {
		return nil, fmt.Errorf("spend %s:%d: %w", prevTx, prevIndex, err)
	}
	return h, nil
}
