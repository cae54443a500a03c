package chains

import (
	"strings"
	"testing"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		name    string
		family  Family
		network string
		give    string
		want    string
		wantErr string
	}{
		{name: "evm lower", family: FamilyEVM,
			give: "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
			want: "0x098b716b8aaf21512996dc57eb0615e2383e2f96"},
		{name: "evm checksummed (Ronin exploiter)", family: FamilyEVM,
			give: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
			want: "0x098b716b8aaf21512996dc57eb0615e2383e2f96"},
		{name: "evm upper", family: FamilyEVM,
			give: "0x098B716B8AAF21512996DC57EB0615E2383E2F96",
			want: "0x098b716b8aaf21512996dc57eb0615e2383e2f96"},
		{name: "evm trailing space", family: FamilyEVM,
			give: "0x098b716b8aaf21512996dc57eb0615e2383e2f96 ",
			want: "0x098b716b8aaf21512996dc57eb0615e2383e2f96"},
		{name: "evm bad checksum", family: FamilyEVM,
			give: "0x098b716B8Aaf21512996dC57EB0615e2383E2f96", wantErr: "EIP-55"},
		{name: "evm short", family: FamilyEVM, give: "0x098b71", wantErr: "40 hex"},
		{name: "evm not hex", family: FamilyEVM,
			give: "0x098b716b8aaf21512996dc57eb0615e2383e2fzz", wantErr: "not hex"},
		{name: "p2pkh (WannaCry)", family: FamilyBitcoin, network: "mainnet",
			give: "13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb94",
			want: "13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb94"},
		{name: "p2sh", family: FamilyBitcoin, network: "mainnet",
			give: "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
			want: "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"},
		{name: "p2wpkh upper-case bech32", family: FamilyBitcoin, network: "mainnet",
			give: "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
			want: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{name: "p2wsh", family: FamilyBitcoin, network: "mainnet",
			give: "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
			want: "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"},
		{name: "p2tr", family: FamilyBitcoin, network: "mainnet",
			give: "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
			want: "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},
		{name: "simnet p2pkh that looks like a bech32 prefix", family: FamilyBitcoin,
			network: "simnet", give: "Sb1Y7RhEfHP8ePquZcWFhwMgcDFxqYpQfK",
			want: "Sb1Y7RhEfHP8ePquZcWFhwMgcDFxqYpQfK"},
		{name: "simnet bech32 prefix, bad base58 checksum", family: FamilyBitcoin,
			network: "simnet", give: "Sb1Y7RhEfHP8ePquZcWFhwMgcDFxqYpQfL", wantErr: "lowercase"},
		{name: "testnet address on mainnet", family: FamilyBitcoin, network: "mainnet",
			give: "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", wantErr: "address"},
		{name: "bad base58 checksum", family: FamilyBitcoin, network: "mainnet",
			give: "13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb95", wantErr: "checksum"},
		{name: "unknown network", family: FamilyBitcoin, network: "moon",
			give: "13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb94", wantErr: "unknown bitcoin network"},
		{name: "unknown family", family: "tron", give: "T...", wantErr: "unknown chain family"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeAddress(tt.family, tt.network, tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestChecksumEVM(t *testing.T) {
	got := ChecksumEVM("0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if want := "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// FuzzNormalizeBitcoin checks that any string either fails or normalizes to an encoding that
// normalizes to itself, on every network.
func FuzzNormalizeBitcoin(f *testing.F) {
	for _, s := range []string{"13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb94",
		"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "Sb1Y7RhEfHP8ePquZcWFhwMgcDFxqYpQfK",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "sb1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		for _, network := range []string{"mainnet", "testnet", "regtest", "simnet"} {
			got, err := NormalizeBitcoin(network, addr)
			if err != nil {
				continue
			}
			again, err := NormalizeBitcoin(network, got)
			if err != nil || again != got {
				t.Fatalf("%s: %q -> %q -> %q, %v", network, addr, got, again, err)
			}
		}
	})
}
