package watchlist

import (
	"strings"
	"testing"
)

func TestReadTokens(t *testing.T) {
	in := "chain_id,list_file,symbol,name,address,decimals\n" +
		"1,mainnet,USDT,Tether USD,0xdAC17F958D2ee523a2206206994597C13D831ec7,6\n" +
		"x,mainnet,BAD,Bad,0xdAC17F958D2ee523a2206206994597C13D831ec7,6\n" +
		"1,mainnet,BAD,Bad,0x12,6\n" +
		"1,mainnet,BAD,Bad,0xdAC17F958D2ee523a2206206994597C13D831ec7,99\n" +
		"1,mainnet,SHORT\n" +
		"10,optimism,USDC,USD Coin,0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85,6\n"
	got, bad, err := ReadTokens("tokens.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Address != "0xdac17f958d2ee523a2206206994597c13d831ec7" ||
		got[0].Symbol != "USDT" || got[0].Decimals != 6 || got[1].ChainID != 10 {
		t.Fatalf("tokens %+v", got)
	}
	var lines []string
	for _, b := range bad {
		lines = append(lines, b.Error())
	}
	want := []string{"tokens.csv:3: chain_id", "tokens.csv:4: address", "tokens.csv:5: decimals",
		"tokens.csv:6: "}
	if len(lines) != len(want) {
		t.Fatalf("rejections %q", lines)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("rejection %q, want %q...", lines[i], want[i])
		}
	}
	if _, _, err := ReadTokens("x.csv", strings.NewReader("a,b\n")); err == nil {
		t.Error("a wrong header was accepted")
	}
}

func FuzzReadTokens(f *testing.F) {
	f.Add([]byte("chain_id,list_file,symbol,name,address,decimals\n" +
		"1,mainnet,USDT,Tether USD,0xdAC17F958D2ee523a2206206994597C13D831ec7,6\n"))
	f.Add([]byte("chain_id,list_file,symbol,name,address,decimals\n1,\"x\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, _, err := ReadTokens("f.csv", strings.NewReader(string(raw)))
		if err != nil {
			return
		}
		for _, tk := range got {
			if tk.Symbol == "" || tk.Decimals < 0 || tk.Decimals > 36 || tk.ChainID == 0 {
				t.Fatalf("accepted %+v", tk)
			}
		}
	})
}
