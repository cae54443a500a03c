package watcher

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPipelinePatterns plays the fan-out and dormant-reactivation patterns on the simulated
// chain through the real pipeline, each next to a clean look-alike:
//
//	Lazarus pays A 100 ETH; A splits it into four fresh addresses, a block each: the
//	fan-out rule (4 within an hour) alerts once, on the fourth, with the four payments. A
//	clean wallet pays five fresh addresses (payroll): nothing.
//	The chain is quiet for 40 days; Lazarus pays B: the dormant rule (30 days) alerts with
//	its last movement and this one. Ten days later Lazarus pays C: nothing.
func TestPipelinePatterns(t *testing.T) {
	lab := newIdleLab(t)
	c := lab.chain
	lab.start(t, []rules.Rule{
		{Name: "fan-out", Severity: "medium", Pattern: rules.PatternFanOut, Count: 4,
			Window: time.Hour},
		{Name: "dormant", Severity: "high", Pattern: rules.PatternDormant,
			Idle: 30 * 24 * time.Hour},
		{Name: "to-exchange", Severity: "high", Destinations: []string{"exchange"},
			MaxHops: 3},
	})
	ak, a := labKey("patterns-a")
	fresh := func(name string, i int) common.Address {
		_, addr := labKey(fmt.Sprintf("patterns-%s-%d", name, i))
		return addr
	}
	lab.send(t, c.Keys[0], a, eth(100))
	var split []string
	for i := range 4 {
		lab.send(t, ak, fresh("f", i), eth(10))
		split = append(split, addr(fresh("f", i)))
	}
	for i := range 5 {
		lab.send(t, c.Keys[3], fresh("payroll", i), eth(1))
	}
	if err := c.AdjustTime(40 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	lab.send(t, c.Keys[0], fresh("b", 0), eth(1))
	if err := c.AdjustTime(10 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	lab.send(t, c.Keys[0], fresh("c", 0), eth(1))
	waitSettled(t, lab.src, lab.q, "dev")

	want := []string{
		fmt.Sprintf("dormant %s dormant: moved after 40 days still; %s -> %s, %s -> %s",
			addr(c.Addrs[0]), addr(c.Addrs[0]), addr(a), addr(c.Addrs[0]),
			addr(fresh("b", 0))),
		fmt.Sprintf("fan-out %s fan_out: split into 4 fresh addresses; %s -> %s", addr(a),
			addr(a), strings.Join(split, ", "+addr(a)+" -> ")),
	}
	lab.recv.waitFor(t, len(want))
	var got []string
	for _, al := range lab.recv.alerts() {
		var hops []string
		for _, h := range al.Path {
			hops = append(hops, h.From+" -> "+h.To)
		}
		got = append(got, fmt.Sprintf("%s %s %s: %s; %s", al.Rule, al.Destination.Address,
			al.Destination.Category, al.Destination.Entity, strings.Join(hops, ", ")))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
