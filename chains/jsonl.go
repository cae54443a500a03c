package chains

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendTransferJSONL appends the extract schema's object for an EVM movement (one input,
// one output), followed by a newline:
//
//	{"chain":…,"block":N,"block_hash":…,"time":…,"tx":…,"position":…,"kind":…,
//	 "from":…,"to":…,"asset":…,"amount":"<decimal base units>"}
func AppendTransferJSONL(dst []byte, m *Movement) ([]byte, error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 || m.Inputs[0].Amount == nil {
		return dst, errors.New("not a one-input, one-output transfer")
	}
	dst = appendHeaderJSON(dst, m)
	dst = append(dst, `,"kind":`...)
	dst = appendJSONString(dst, string(m.Kind))
	dst = append(dst, `,"from":`...)
	dst = appendJSONString(dst, m.Inputs[0].Address)
	dst = append(dst, `,"to":`...)
	dst = appendJSONString(dst, m.Outputs[0].Address)
	dst = append(dst, `,"asset":`...)
	dst = appendJSONString(dst, m.Inputs[0].Asset)
	dst = append(dst, `,"amount":"`...)
	dst = m.Inputs[0].Amount.Append(dst, 10)
	dst = append(dst, "\"}\n"...)
	return dst, nil
}

// appendJSONString appends s as a JSON string. The values written here are hex, names and
// positions, so the fast path is a plain copy; anything else is escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, `\u00`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// AppendJSONL appends the extract schema's object for m: AppendTransferJSONL for EVM
// movements, AppendUTXOJSONL for Bitcoin transactions.
func AppendJSONL(dst []byte, m *Movement) ([]byte, error) {
	if m.Kind == KindUTXO {
		return AppendUTXOJSONL(dst, m)
	}
	return AppendTransferJSONL(dst, m)
}

// appendHeaderJSON opens a movement's object with the fields every kind has: chain, block,
// block_hash, time, tx, position.
func appendHeaderJSON(dst []byte, m *Movement) []byte {
	dst = append(dst, `{"chain":`...)
	dst = appendJSONString(dst, m.Chain)
	dst = append(dst, `,"block":`...)
	dst = strconv.AppendUint(dst, m.Block.Number, 10)
	dst = append(dst, `,"block_hash":`...)
	dst = appendJSONString(dst, m.Block.Hash)
	dst = append(dst, `,"time":"`...)
	dst = m.Block.Time.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","tx":`...)
	dst = appendJSONString(dst, m.Tx)
	dst = append(dst, `,"position":`...)
	dst = appendJSONString(dst, m.Position)
	return dst
}

// AppendUTXOJSONL appends the extract schema's object for a Bitcoin transaction, followed
// by a newline:
//
//	{"chain":…,"block":N,"block_hash":…,"time":…,"tx":…,"position":"tx","kind":"utxo",
//	 "inputs":[{"address":…,"amount":"<sat>","prev_tx":…,"prev_index":N} | {"coinbase":true}],
//	 "outputs":[{"index":N,"address":…,"amount":"<sat>"[,"script_type":… if no address]}]}
func AppendUTXOJSONL(dst []byte, m *Movement) ([]byte, error) {
	if len(m.Outputs) == 0 {
		return dst, errors.New("transaction without outputs")
	}
	dst = appendHeaderJSON(dst, m)
	dst = append(dst, `,"kind":"utxo","inputs":[`...)
	for i, l := range m.Inputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if l.Coinbase {
			dst = append(dst, `{"coinbase":true}`...)
			continue
		}
		if l.Amount == nil {
			return dst, errors.New("input without amount")
		}
		dst = append(dst, `{"address":`...)
		dst = appendJSONString(dst, l.Address)
		dst = append(dst, `,"amount":"`...)
		dst = l.Amount.Append(dst, 10)
		dst = append(dst, `","prev_tx":`...)
		dst = appendJSONString(dst, l.PrevTx)
		dst = append(dst, `,"prev_index":`...)
		dst = strconv.AppendUint(dst, uint64(l.PrevIndex), 10)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"outputs":[`...)
	for i, l := range m.Outputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if l.Amount == nil {
			return dst, errors.New("output without amount")
		}
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendUint(dst, uint64(l.Index), 10)
		dst = append(dst, `,"address":`...)
		dst = appendJSONString(dst, l.Address)
		dst = append(dst, `,"amount":"`...)
		dst = l.Amount.Append(dst, 10)
		dst = append(dst, '"')
		if l.Address == "" {
			dst = append(dst, `,"script_type":`...)
			dst = appendJSONString(dst, l.ScriptType)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}\n"...), nil
}
