package render

import "testing"

func TestAmount(t *testing.T) {
	tests := []struct{ chain, asset, base, want string }{
		{"ethereum", "native", "105500000000000000000", "105.5 ETH"},
		{"ethereum", "native", "1", "0.000000000000000001 ETH"},
		{"bitcoin", "native", "1999800000", "19.998 BTC"},
		{"bitcoin", "native", "0", "0 BTC"},
		{"ethereum", "0xdac17f958d2ee523a2206206994597c13d831ec7", "1000000",
			"1000000 base units of token 0xdac1…1ec7"},
		{"unknownchain", "native", "5", "5 native units"},
		{"ethereum", "native", "not a number", "not a number native units"},
	}
	for _, tt := range tests {
		if got := Amount(tt.chain, tt.asset, tt.base); got != tt.want {
			t.Errorf("Amount(%s, %s, %s) = %q, want %q", tt.chain, tt.asset, tt.base, got,
				tt.want)
		}
	}
}
