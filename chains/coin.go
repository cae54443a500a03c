package chains

import (
	"math/big"
	"strings"
)

// knownChains are the chains flowwatch is usually configured with, by the chain's usual
// name: their native coin's symbol and decimals, EIP-155 id (EVM chains) and explorer's
// transaction URL prefix.
var knownChains = map[string]struct {
	symbol   string
	decimals int
	chainID  uint64
	explorer string
}{
	"ethereum": {"ETH", 18, 1, "https://etherscan.io/tx/"},
	"sepolia":  {"ETH", 18, 11155111, ""}, "holesky": {"ETH", 18, 17000, ""},
	"dev":       {"ETH", 18, 0, ""},
	"arbitrum":  {"ETH", 18, 42161, "https://arbiscan.io/tx/"},
	"optimism":  {"ETH", 18, 10, "https://optimistic.etherscan.io/tx/"},
	"base":      {"ETH", 18, 8453, "https://basescan.org/tx/"},
	"bsc":       {"BNB", 18, 56, "https://bscscan.com/tx/"},
	"polygon":   {"POL", 18, 137, "https://polygonscan.com/tx/"},
	"avalanche": {"AVAX", 18, 43114, "https://snowtrace.io/tx/"},
	"bitcoin":   {"BTC", 8, 0, "https://mempool.space/tx/"},
	"testnet":   {"BTC", 8, 0, ""}, "simnet": {"BTC", 8, 0, ""}, "regtest": {"BTC", 8, 0, ""},
	"signet": {"BTC", 8, 0, ""},
}

// Coin returns the symbol and decimals of the native coin of the chain usually configured
// under that name (case does not matter); ok is false for a name it does not know.
func Coin(chain string) (symbol string, decimals int, ok bool) {
	c, ok := knownChains[strings.ToLower(chain)]
	return c.symbol, c.decimals, ok
}

// ChainID returns the EIP-155 id of the EVM chain usually configured under that name, or
// 0.
func ChainID(chain string) uint64 { return knownChains[strings.ToLower(chain)].chainID }

// Explorer returns the transaction URL prefix of a public explorer of the chain usually
// configured under that name, or "".
func Explorer(chain string) string { return knownChains[strings.ToLower(chain)].explorer }

// FormatUnits writes v / 10^d in decimal, without trailing zeros: FormatUnits(1500, 3) is
// "1.5".
func FormatUnits(v *big.Int, d int) string {
	s := new(big.Int).Abs(v).String()
	if d <= 0 {
		if v.Sign() < 0 {
			return "-" + s
		}
		return s
	}
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	if v.Sign() < 0 {
		whole = "-" + whole
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
