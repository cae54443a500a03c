package watchlist

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/address/v2/bech32"

	"github.com/flowwatch/flowwatch/chains"
)

// Chain names addresses of assets are filed under. EVM chains share a format; the asset
// (and, for USDT, the format) says which chain.
const (
	ChainBitcoin  = "bitcoin"
	ChainEthereum = "ethereum"
	ChainTron     = "tron"
)

// assetChain maps an asset code, as OFAC names it, and an address to the chain the address
// lives on, with the address normalized; an address whose format does not fit its asset is
// an error saying what it looks like instead.
func assetChain(asset, addr string) (chain, norm string, err error) {
	addr = strings.TrimSpace(addr)
	evm := func(chain string) (string, string, error) {
		n, err := chains.NormalizeEVM(addr)
		return chain, n, err
	}
	switch asset {
	case "XBT":
		if n, err := chains.NormalizeBitcoin("mainnet", addr); err == nil {
			return ChainBitcoin, n, nil
		}
	case "ETH", "USDC":
		if strings.HasPrefix(addr, "0x") {
			return evm(ChainEthereum)
		}
	case "ETC":
		if strings.HasPrefix(addr, "0x") {
			return evm("ethereum-classic")
		}
	case "ARB":
		if strings.HasPrefix(addr, "0x") {
			return evm("arbitrum")
		}
	case "BSC":
		if strings.HasPrefix(addr, "0x") {
			return evm("bsc")
		}
	case "BNB": // BNB Beacon Chain (bnb1…), or BNB Smart Chain (0x…)
		if strings.HasPrefix(addr, "0x") {
			return evm("bsc")
		}
		if hrp, _, err := bech32.Decode(addr); err == nil && hrp == "bnb" {
			return "bnb-beacon", strings.ToLower(addr), nil
		}
	case "USDT": // on Tron, on Ethereum, or Omni on Bitcoin
		switch {
		case strings.HasPrefix(addr, "0x"):
			return evm(ChainEthereum)
		case strings.HasPrefix(addr, "T"):
			if n, err := normalizeTron(addr); err == nil {
				return ChainTron, n, nil
			}
		default:
			if n, err := chains.NormalizeBitcoin("mainnet", addr); err == nil {
				return ChainBitcoin, n, nil
			}
		}
	case "TRX":
		if n, err := normalizeTron(addr); err == nil {
			return ChainTron, n, nil
		}
	case "LTC":
		if base58Version(addr, 0x30, 0x32, 0x05) || bech32HRP(addr, "ltc") {
			return "litecoin", addr, nil
		}
	case "BCH":
		if base58Version(addr, 0x00, 0x05) || cashAddr(addr) {
			return "bitcoin-cash", strings.TrimPrefix(addr, "bitcoincash:"), nil
		}
	case "BSV":
		if base58Version(addr, 0x00, 0x05) {
			return "bitcoin-sv", addr, nil
		}
	case "BTG":
		if base58Version(addr, 38, 23) {
			return "bitcoin-gold", addr, nil
		}
	case "DASH":
		if base58Version(addr, 76, 16) {
			return "dash", addr, nil
		}
	case "XVG":
		if base58Version(addr, 30, 33) {
			return "verge", addr, nil
		}
	case "ZEC": // transparent addresses: t1 (0x1cb8), t3 (0x1cbd)
		if p, ok := base58Check(addr); ok && len(p) == 22 &&
			(bytes.HasPrefix(p, []byte{0x1c, 0xb8}) || bytes.HasPrefix(p, []byte{0x1c, 0xbd})) {
			return "zcash", addr, nil
		}
	case "XMR": // standard (95) or integrated (106) addresses in Monero's base58
		if (len(addr) == 95 || len(addr) == 106) && strings.ContainsRune("48", rune(addr[0])) &&
			inAlphabet(addr, base58Alphabet) {
			return "monero", addr, nil
		}
	case "XRP": // Ripple's own base58 alphabet, classic addresses start with r
		if strings.HasPrefix(addr, "r") && len(addr) >= 25 && len(addr) <= 35 &&
			inAlphabet(addr, rippleAlphabet) {
			return "xrp", addr, nil
		}
	case "SOL": // a 32-byte public key in base58
		if b := base58.Decode(addr); len(b) == 32 && inAlphabet(addr, base58Alphabet) {
			return "solana", addr, nil
		}
	default:
		return "", "", fmt.Errorf("asset %q: not a currency flowwatch knows", asset)
	}
	return "", "", fmt.Errorf("address %q does not fit asset %s%s", addr, asset, looksLike(addr))
}

// looksLike names the format an address has, to explain a mismatch.
func looksLike(addr string) string {
	switch {
	case strings.HasPrefix(addr, "0x") && len(addr) == 42:
		return " (it is an EVM address)"
	case strings.HasPrefix(addr, "T"):
		if _, err := normalizeTron(addr); err == nil {
			return " (it is a Tron address)"
		}
	case len(addr) == 64 && isHex(addr):
		return " (it is 32 bytes of hex: a transaction hash or key, not an address)"
	}
	if _, err := chains.NormalizeBitcoin("mainnet", addr); err == nil {
		return " (it is a Bitcoin address)"
	}
	return ""
}

const (
	base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	rippleAlphabet = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
)

func inAlphabet(s, alphabet string) bool {
	for _, c := range s {
		if !strings.ContainsRune(alphabet, c) {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for _, c := range strings.ToLower(s) {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// base58Check decodes a base58check string (payload and 4-byte double-SHA-256 checksum)
// and returns the payload.
func base58Check(s string) ([]byte, bool) {
	b := base58.Decode(s)
	if len(b) < 5 || !inAlphabet(s, base58Alphabet) {
		return nil, false
	}
	p, sum := b[:len(b)-4], b[len(b)-4:]
	h := sha256.Sum256(p)
	h = sha256.Sum256(h[:])
	return p, bytes.Equal(h[:4], sum)
}

// base58Version: a base58check address of 20 bytes with one of the version bytes.
func base58Version(s string, versions ...byte) bool {
	p, ok := base58Check(s)
	return ok && len(p) == 21 && bytes.IndexByte(versions, p[0]) >= 0
}

func bech32HRP(s, hrp string) bool {
	got, _, err := bech32.Decode(s)
	if err != nil {
		got, _, _, err = bech32.DecodeNoLimitWithVersion(s)
	}
	return err == nil && got == hrp
}

// normalizeTron validates a Tron address: base58check, version 0x41, 20 bytes.
func normalizeTron(addr string) (string, error) {
	p, ok := base58Check(addr)
	if !ok || len(p) != 21 || p[0] != 0x41 {
		return "", errors.New("not a Tron address")
	}
	return addr, nil
}

// cashAddr validates a Bitcoin Cash address in CashAddr form (with or without the
// bitcoincash: prefix): charset, length and BCH polymod checksum.
func cashAddr(s string) bool {
	s = strings.ToLower(strings.TrimPrefix(s, "bitcoincash:"))
	if len(s) != 42 || (s[0] != 'q' && s[0] != 'p') {
		return false
	}
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	values := make([]byte, 0, len("bitcoincash")+1+len(s))
	for _, c := range []byte("bitcoincash") {
		values = append(values, c&0x1f)
	}
	values = append(values, 0)
	for _, c := range []byte(s) {
		i := strings.IndexByte(charset, c)
		if i < 0 {
			return false
		}
		values = append(values, byte(i))
	}
	return cashPolymod(values) == 0
}

func cashPolymod(v []byte) uint64 {
	c := uint64(1)
	for _, d := range v {
		c0 := byte(c >> 35)
		c = ((c & 0x07ffffffff) << 5) ^ uint64(d)
		for i, g := range []uint64{0x98f2bc8e61, 0x79b76d99e2, 0xf33e5fb3c4, 0xae2eabe2a8,
			0x1e4f43e470} {
			if c0&(1<<i) != 0 {
				c ^= g
			}
		}
	}
	return c ^ 1
}
