package replay

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestFollowBatchesPerBlock: following by queries (as the trace, log and address-index
// paths do) finds what judging every movement finds, under each model, and asks the rest
// of the range once per block that adds addresses (the fan-out's block adds four), not
// once per address. The queries are answered from the scenario's movements.
func TestFollowBatchesPerBlock(t *testing.T) {
	all := scenario()
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		t.Run(model, func(t *testing.T) {
			replayWith := func(h func(*Replayer) error) *Report {
				r, err := New(scLists(), Options{Chain: "ethereum", From: 100, To: 112,
					Sources: []string{scLazarus}, Model: model})
				if err != nil {
					t.Fatal(err)
				}
				if err := h(r); err != nil {
					t.Fatal(err)
				}
				return r.Report()
			}
			want := replayWith(func(r *Replayer) error {
				return Movements(all).Replay(context.Background(), 100, 112, r)
			})
			wide := 0
			got := replayWith(func(r *Replayer) error {
				return follow(context.Background(), 100, 112, r, nil,
					func(from, to uint64, addrs []string) ([]chains.Movement, error) {
						if to > from {
							wide++
						}
						var out []chains.Movement
						for _, m := range all {
							n := m.Block.Number
							if n >= from && n <= to && (slices.Contains(addrs,
								m.Inputs[0].Address) || slices.Contains(addrs,
								m.Outputs[0].Address)) {
								out = append(out, m)
							}
						}
						return out, nil
					})
			})
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("by queries:\n%s\nevery movement:\n%s", g, w)
			}
			// The first query, then after blocks 101 (four fresh wallets), 103 (the
			// peel's) and 106 (the deposit address, not inferred without the customer's
			// deposit); block 111's USDT wallet leaves one block to ask, not a range.
			if wide != 4 {
				t.Fatalf("%d queries of the rest of the range, want 4", wide)
			}
		})
	}
}
