package rules

import (
	"bufio"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// TestScenarios plays the corpus in testdata/ (see its README): every finding, in order,
// must be one the scenario wants, and every wanted one must come.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.scenario"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".scenario"), func(t *testing.T) {
			got, want := playScenario(t, file)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"),
					strings.Join(want, "\n"))
			}
		})
	}
}

// scenarioView is a View over what a scenario declared and what its decisions stored, with
// the senders the worker would remember.
type scenarioView struct {
	mapView
	paid map[string][]Hop
}

func (v scenarioView) Senders(a string) []Hop { return v.paid[a] }

func playScenario(t *testing.T, file string) (got, want []string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := scenarioView{mapView: mapView{sources: map[string]Source{},
		labels: map[string]Label{}, taints: map[string]Taint{}, tracked: map[string]int64{}},
		paid: map[string][]Hop{}}
	var rs []Rule
	at := time.Unix(1_700_000_000, 0).UTC()
	start := at
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s:%d: %s", file, n, fmt.Sprintf(format, args...))
		}
		switch fields[0] {
		case "source", "label":
			if len(fields) < 4 {
				fail("want %s ADDR CATEGORY ENTITY", fields[0])
			}
			entity := strings.Join(fields[3:], " ")
			if fields[0] == "source" {
				v.sources[fields[1]] = Source{Category: fields[2], Entity: entity}
			} else {
				v.labels[fields[1]] = Label{Category: fields[2], Entity: entity}
			}
		case "rule":
			r, err := scenarioRule(fields[1:])
			if err != nil {
				fail("%v", err)
			}
			rs = append(rs, r)
		case "at":
			d, err := time.ParseDuration(fields[1])
			if err != nil {
				fail("%v", err)
			}
			at = start.Add(d)
		case "move":
			if len(fields) < 5 {
				fail("want move TX FROM TO AMOUNT [ASSET]")
			}
			amount, ok := new(big.Int).SetString(fields[4], 10)
			if !ok {
				fail("amount %q", fields[4])
			}
			asset := chains.AssetNative
			if len(fields) > 5 {
				asset = fields[5]
			}
			m := &chains.Movement{Chain: "ethereum", Tx: fields[1],
				Position: fmt.Sprintf("log:%d", n), Kind: chains.KindToken,
				Block:   chains.BlockRef{Number: uint64(n), Time: at},
				Inputs:  []chains.Leg{{Address: fields[2], Asset: asset, Amount: amount}},
				Outputs: []chains.Leg{{Address: fields[3], Asset: asset, Amount: amount}}}
			var skipped int
			d, _ := evaluateChecked(t, rs, m, v, &skipped)
			v.store(d)
			for _, fd := range d.Findings {
				var to []string
				for _, h := range fd.Path {
					to = append(to, h.To)
				}
				got = append(got, fmt.Sprintf("%s %s %s %s", fd.Rule.Name, fd.Destination,
					fd.Tainted, strings.Join(to, ",")))
			}
			v.paid[fields[3]] = append(v.paid[fields[3]], Hop{From: fields[2], To: fields[3],
				Asset: asset, Amount: amount, Time: at, Tx: fields[1]})
		case "want":
			want = append(want, strings.Join(fields[1:], " "))
		default:
			fail("unknown directive %q", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// scenarioRule parses "NAME key=value...".
func scenarioRule(fields []string) (Rule, error) {
	r := Rule{Name: fields[0], Severity: "high"}
	for _, kv := range fields[1:] {
		k, val, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "model":
			r.Model = val
		case "dest":
			r.Destinations = strings.Split(val, ",")
		case "hops":
			r.MaxHops, err = strconv.Atoi(val)
		case "pattern":
			r.Pattern = val
		case "count":
			r.Count, err = strconv.Atoi(val)
		case "window":
			r.Window, err = time.ParseDuration(val)
		case "idle":
			r.Idle, err = time.ParseDuration(val)
		case "min":
			asset, amount, _ := strings.Cut(val, ":")
			n, ok := new(big.Int).SetString(amount, 10)
			if !ok {
				return r, fmt.Errorf("min %q", val)
			}
			r.MinAmount = map[string]*big.Int{asset: n}
		default:
			return r, fmt.Errorf("rule key %q", k)
		}
		if err != nil {
			return r, fmt.Errorf("rule %s: %w", k, err)
		}
	}
	return r, r.Validate()
}
