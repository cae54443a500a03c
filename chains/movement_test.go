package chains

import (
	"math/big"
	"testing"
)

func TestMovementTransfer(t *testing.T) {
	leg := func(addr string, amount int64) []Leg {
		return []Leg{{Address: addr, Asset: AssetNative, Amount: big.NewInt(amount)}}
	}
	tests := []struct {
		name string
		give Movement
		want bool
	}{
		{name: "native", give: Movement{Kind: KindNative, Inputs: leg("a", 1),
			Outputs: leg("b", 1)}, want: true},
		{name: "token", give: Movement{Kind: KindToken, Inputs: leg("a", 1),
			Outputs: leg("b", 1)}, want: true},
		{name: "zero value", give: Movement{Kind: KindToken, Inputs: leg("a", 0),
			Outputs: leg("b", 0)}},
		{name: "to oneself", give: Movement{Kind: KindNative, Inputs: leg("a", 1),
			Outputs: leg("a", 1)}},
		{name: "no receiver", give: Movement{Kind: KindNative, Inputs: leg("a", 1),
			Outputs: leg("", 1)}},
		{name: "event", give: Movement{Kind: KindEvent, Inputs: leg("a", 1),
			Outputs: leg("b", 1)}},
		{name: "bitcoin", give: Movement{Kind: KindUTXO, Inputs: leg("a", 1),
			Outputs: leg("b", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, ok := tt.give.Transfer()
			if ok != tt.want || ok && (from.Address != "a" || to.Address != "b") {
				t.Fatalf("Transfer() = %v, %v, %v; want ok %v", from, to, ok, tt.want)
			}
		})
	}
}
