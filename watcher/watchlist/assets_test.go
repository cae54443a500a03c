package watchlist

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

// TestAssetChain: each asset's address formats map to their chain (addresses from the SDN
// list); a format that does not fit its asset is an error saying what it is.
func TestAssetChain(t *testing.T) {
	tests := []struct {
		asset, give, wantChain, wantErr string
	}{
		{"XBT", "13YBQr2Cp1YY3xqq2qngaPb7ca1o4ugeq6", "bitcoin", ""},
		{"XBT", "13YBQr2Cp1YY3xqq2qngaPb7ca1o4ugeq7", "", "does not fit asset XBT"},
		{"XBT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "", "it is a Tron address"},
		{"ETH", "0x7F367cC41522cE07553e823bf3be79A889DEbe1B", "ethereum", ""},
		{"ETH", "0x7F367cC41522cE07553e823bf3be79A889DEbe1b", "", "EIP-55"},
		{"USDT", "TWBAPzpPiZarfVsY2BLXeaLhNHurn4wkWG", "tron", ""},
		{"USDT", "0x175d44451403Edf28469dF03A9280c1197ADb92c", "ethereum", ""},
		{"USDT", "3LtcaPbCj87CwJHnRX3vh7c2y9RZQqeSy8", "bitcoin", ""},
		{"TRX", "TQ5H49Wz3K57zNHmuXVp6uLzFwitxviABs", "tron", ""},
		{"TRX", "TQ5H49Wz3K57zNHmuXVp6uLzFwitxviABt", "", "does not fit"},
		{"ARB", "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", "arbitrum", ""},
		{"BNB", "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23", "bnb-beacon", ""},
		{"BNB", "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf24", "", "does not fit"},
		{"LTC", "LWnbjLYUfqeokfbWM4FcU7uk2FP2DSxuWS", "litecoin", ""},
		{"LTC", "13YBQr2Cp1YY3xqq2qngaPb7ca1o4ugeq6", "", "it is a Bitcoin address"},
		{"DASH", "XyARKoupuArYtToA2S6yMdnoquDCDaBsaT", "dash", ""},
		{"ZEC", "t1WSKwCDL1QYRRUrCCknEs5tDLhtGVYu9KM", "zcash", ""},
		{"BTG", "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS", "bitcoin-gold", ""},
		{"XVG", "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", "verge", ""},
		{"SOL", "42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoHi", "solana", ""},
		{"BSV", "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9", "bitcoin-sv", ""},
		{"BCH", "qqyuc9s700plhzr6awzru7g5z2d2p906uyrm6ht0r0", "bitcoin-cash", ""},
		{"BCH", "qqyuc9s700plhzr6awzru7g5z2d2p906uyrm6ht0r1", "", "does not fit"},
		{"XMR", strings.Repeat("a", 64), "", "32 bytes of hex"},
		{"XRP", "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66", "xrp", ""},
		{"DOGE", "D8vFz4p1L37jdg47HXKtSHA5uYLYxbGgPD", "", "not a currency flowwatch knows"},
	}
	for _, tt := range tests {
		chain, _, err := assetChain(tt.asset, tt.give)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s %s: got %q, %v; want an error with %q", tt.asset, tt.give, chain,
					err, tt.wantErr)
			}
			continue
		}
		if err != nil || chain != tt.wantChain {
			t.Errorf("%s %s: got %q, %v; want %s", tt.asset, tt.give, chain, err, tt.wantChain)
		}
	}
}

func FuzzReadOFACXML(f *testing.F) {
	f.Add([]byte(`<Sanctions><ReferenceValueSets><FeatureTypeValues><FeatureType ID="344">` +
		`Digital Currency Address - XBT</FeatureType></FeatureTypeValues></ReferenceValueSets>` +
		`<DistinctParties><DistinctParty FixedRef="1"><Profile ID="1"><Feature ID="9" ` +
		`FeatureTypeID="344"><FeatureVersion><VersionDetail>1H93JnsvRLXpq7AbbucXk94W2WR7BSkgSU` +
		`</VersionDetail></FeatureVersion></Feature></Profile></DistinctParty>` +
		`</DistinctParties></Sanctions>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, rejected, err := ReadOFACXML("f.xml", bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Chain == "" || e.Address == "" {
				t.Fatalf("entry without chain or address: %+v", e)
			}
		}
		for _, r := range rejected {
			if r.Reason == "" {
				t.Fatalf("rejection without a reason: %+v", r)
			}
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("chain,address,role,category,entity,source,valid_from,valid_to\n" +
		"ethereum,0x28C6c06298d514Db089934071355E5743bf21d60,label,exchange,B,x,,\n"))
	info := func(string) (chains.Family, string, bool) {
		return chains.FamilyEVM, "", true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, rejected, err := ReadCSV("f.csv", bytes.NewReader(b), info)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Address == "" || (e.Role != RoleSource && e.Role != RoleLabel) {
				t.Fatalf("bad entry %+v", e)
			}
		}
		for _, r := range rejected {
			if r.Line < 1 || r.Reason == "" {
				t.Fatalf("bad rejection %+v", r)
			}
		}
	})
}
