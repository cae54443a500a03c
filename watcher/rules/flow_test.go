package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

// flowSummary is the flows of d in short: "model:from>to@depth=tainted[->category]".
func flowSummary(d Decision) string {
	var out []string
	for _, f := range d.Flows {
		t := "all"
		if f.Hop.Tainted != nil {
			t = f.Hop.Tainted.String()
		}
		s := fmt.Sprintf("%s:%s>%s@%d=%s", f.Model[:1], f.Hop.From, f.Hop.To, f.Depth, t)
		if f.Destination != "" {
			s += "->" + f.Label.Category
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestFlows: every hop of watched funds inside a rule's budgets is a flow, also where it
// stores nothing (a second payment to a tracked address) or alerts, and none outside; a
// decision that does not ask for flows gets none.
func TestFlows(t *testing.T) {
	tests := []struct {
		name string
		give []*chains.Movement
		want string // the last movement's flows
	}{
		{"source pays a fresh address",
			[]*chains.Movement{move("a", "S", "A", 40)},
			"p:S>A@1=all h:S>A@1=40 f:S>A@1=40"},
		{"a second payment to a tracked address stores nothing new but flows",
			[]*chains.Movement{move("a", "S", "A", 40), move("b", "S", "A", 5)},
			"p:S>A@1=all h:S>A@1=5 f:S>A@1=5"},
		{"to an exchange, with the models' shares",
			[]*chains.Movement{move("a", "S", "A", 40), move("b", "C", "A", 60),
				move("c", "A", "X", 30)},
			"p:A>X@2=all->exchange h:A>X@2=12->exchange f:A>X@2=30->exchange"},
		{"clean value is no flow", []*chains.Movement{move("a", "C", "A", 40)}, ""},
		{"past max hops is no flow",
			[]*chains.Movement{move("a", "S", "A", 1), move("b", "A", "B", 1),
				move("c", "B", "D", 1), move("d", "D", "E", 1)}, ""},
		{"bitcoin outputs",
			[]*chains.Movement{utxo("u", []in{{"S", "p:0", 10}, {"C", "q:0", 30}},
				[]out{{"X", 20}, {"F", 19}})},
			"p:S>X@1=all->exchange p:S>F@1=all h:S>X@1=5->exchange h:S>F@1=4 " +
				"f:S>X@1=10->exchange"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newView()
			d := Decision{WantFlows: true}
			for _, m := range tt.give {
				EvaluateTo(&d, threeModels(), m, v)
				v.store(d)
			}
			if got := flowSummary(d); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if plain := Evaluate(threeModels(), tt.give[len(tt.give)-1], v); len(plain.Flows) > 0 {
				t.Fatalf("flows without WantFlows: %q", flowSummary(plain))
			}
		})
	}
}
