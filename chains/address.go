package chains

import (
	"encoding/hex"
	"fmt"
	"strings"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/ethereum/go-ethereum/common"
)

// NormalizeAddress validates addr for a chain family and returns its canonical internal
// form: lower-case 0x-hex for EVM chains; the node's canonical encoding (lower-case for
// bech32/bech32m) for Bitcoin on the given network. Surrounding white space is trimmed.
//
// An EVM address given in mixed case must carry a valid EIP-55 checksum; all-lower and
// all-upper hex carry none and are accepted.
func NormalizeAddress(family Family, network, addr string) (string, error) {
	if family == FamilyEVM && normalEVM(addr) {
		return addr, nil // the common case, first
	}
	addr = strings.TrimSpace(addr)
	switch family {
	case FamilyEVM:
		return NormalizeEVM(addr)
	case FamilyBitcoin:
		return NormalizeBitcoin(network, addr)
	default:
		return "", fmt.Errorf("unknown chain family %q", family)
	}
}

// NormalizeEVM validates an EVM address and returns it as lower-case 0x-hex.
func NormalizeEVM(addr string) (string, error) {
	if normalEVM(addr) {
		return addr, nil // already normalized: nothing to allocate
	}
	if len(addr) != 42 || (addr[:2] != "0x" && addr[:2] != "0X") {
		return "", fmt.Errorf("address %q: want 0x and 40 hex digits", addr)
	}
	body := addr[2:]
	if _, err := hex.DecodeString(body); err != nil {
		return "", fmt.Errorf("address %q: not hex", addr)
	}
	lower, upper := strings.ToLower(body), strings.ToUpper(body)
	if body != lower && body != upper {
		if want := common.HexToAddress(body).Hex(); want[2:] != body {
			return "", fmt.Errorf("address %q: bad EIP-55 checksum (want %s)", addr, want)
		}
	}
	return "0x" + lower, nil
}

// normalEVM says whether addr is a normalized EVM address: 0x and 40 lower-case hex digits.
func normalEVM(addr string) bool {
	if len(addr) != 42 || addr[0] != '0' || addr[1] != 'x' {
		return false
	}
	for i := 2; i < 42; i++ {
		if !lowerHex[addr[i]] { // a table: no branch on each digit's value to mispredict
			return false
		}
	}
	return true
}

// lowerHex marks the lower-case hex digits.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// ChecksumEVM returns the EIP-55 form of a normalized EVM address, for people.
func ChecksumEVM(addr string) string { return common.HexToAddress(addr).Hex() }

// BitcoinParams returns the chain parameters for a Bitcoin network name: mainnet, testnet
// (testnet3), signet, regtest or simnet.
func BitcoinParams(network string) (*chaincfg.Params, error) {
	switch network {
	case "mainnet", "":
		return &chaincfg.MainNetParams, nil
	case "testnet", "testnet3":
		return &chaincfg.TestNet3Params, nil
	case "signet":
		return &chaincfg.SigNetParams, nil
	case "regtest":
		return &chaincfg.RegressionNetParams, nil
	case "simnet":
		return &chaincfg.SimNetParams, nil
	default:
		return nil, fmt.Errorf("unknown bitcoin network %q", network)
	}
}

// NormalizeBitcoin validates a Bitcoin address (base58check P2PKH/P2SH, bech32 P2WPKH/P2WSH,
// bech32m P2TR) for the network and returns its canonical encoding.
func NormalizeBitcoin(network, addr string) (string, error) {
	params, err := BitcoinParams(network)
	if err != nil {
		return "", err
	}
	a, err := decodeBitcoin(addr, params)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if !a.IsForNet(params) {
		return "", fmt.Errorf("address %q: not a %s address", addr, network)
	}
	if _, ok := a.(*btcaddr.AddressPubKey); ok {
		return "", fmt.Errorf("address %q: a bare public key is not an address", addr)
	}
	return a.EncodeAddress(), nil
}

// decodeBitcoin is btcaddr.DecodeAddress with one fix: DecodeAddress takes any string whose
// part before its last '1' matches a bech32 prefix case-insensitively for bech32, so a simnet
// base58 address such as "Sb1Y7RhEfHP8ePquZcWFhwMgcDFxqYpQfK" (about one in a few thousand)
// fails as "not all lowercase or all uppercase". A mixed-case string is never bech32, so it is
// read as base58check for the network.
func decodeBitcoin(addr string, params *chaincfg.Params) (btcaddr.Address, error) {
	a, err := btcaddr.DecodeAddress(addr, params)
	if err == nil || strings.ToLower(addr) == addr || strings.ToUpper(addr) == addr {
		return a, err
	}
	hash, version, b58err := base58.CheckDecode(addr)
	if b58err != nil || len(hash) != 20 {
		return nil, err
	}
	switch version {
	case params.PubKeyHashAddrID:
		return btcaddr.NewAddressPubKeyHash(hash, params)
	case params.ScriptHashAddrID:
		return btcaddr.NewAddressScriptHashFromHash(hash, params)
	}
	return nil, err
}
