package chains

import (
	"math/big"
	"strings"
)

// coins are the native coins of the chains flowwatch is usually configured with, by the
// chain's usual name: symbol and decimals.
var coins = map[string]struct {
	symbol   string
	decimals int
}{
	"ethereum": {"ETH", 18}, "sepolia": {"ETH", 18}, "holesky": {"ETH", 18},
	"dev": {"ETH", 18}, "arbitrum": {"ETH", 18}, "optimism": {"ETH", 18},
	"base": {"ETH", 18}, "bsc": {"BNB", 18}, "polygon": {"POL", 18},
	"avalanche": {"AVAX", 18}, "bitcoin": {"BTC", 8}, "testnet": {"BTC", 8},
	"simnet": {"BTC", 8}, "regtest": {"BTC", 8}, "signet": {"BTC", 8},
}

// Coin returns the symbol and decimals of the native coin of the chain usually configured
// under that name (case does not matter); ok is false for a name it does not know.
func Coin(chain string) (symbol string, decimals int, ok bool) {
	c, ok := coins[strings.ToLower(chain)]
	return c.symbol, c.decimals, ok
}

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
