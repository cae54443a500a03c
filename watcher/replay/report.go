package replay

import (
	"cmp"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Node kinds.
const (
	KindSource      = "source"      // a given address
	KindAddress     = "address"     // an address the funds passed through
	KindDestination = "destination" // a labelled service where following ended
)

// Report is where a replay's funds went: the graph, and totals per destination.
type Report struct {
	Chain     string   `json:"chain"`
	FromBlock uint64   `json:"from_block"`
	ToBlock   uint64   `json:"to_block"`
	Model     string   `json:"model"`
	MaxHops   int      `json:"max_hops"`
	AsOf      string   `json:"as_of,omitempty"`
	Sources   []string `json:"sources"`
	Nodes     []Node   `json:"nodes"`
	Edges     []Edge   `json:"edges"`
	Totals    []Total  `json:"totals"`
	// Explorer is the transaction URL prefix the HTML links with.
	Explorer string `json:"-"`
	// Tokens are the tokens whose amounts the pictures and the HTML show in their units.
	Tokens map[string]Token `json:"-"`
}

// Token is what the renderings show a token's amounts in.
type Token struct {
	Symbol   string
	Decimals int
}

// Node is an address of the graph.
type Node struct {
	Address string `json:"address"`
	Kind    string `json:"kind"`
	// Hops is the fewest hops from a given address.
	Hops  int    `json:"hops"`
	Label *Label `json:"label,omitempty"`
	// Designation is the address's entry on a sanctions or attribution list.
	Designation *Designation `json:"designation,omitempty"`
}

// Label is what a list (or an inference) says an address is.
type Label struct {
	Category string `json:"category"`
	Entity   string `json:"entity"`
	List     string `json:"list"`
	Evidence string `json:"evidence,omitempty"`
}

// Designation is a watched source's designation.
type Designation struct {
	Entity   string `json:"entity"`
	Category string `json:"category"`
	List     string `json:"list"`
}

// Edge is one hop of watched funds.
type Edge struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Tx       string `json:"tx"`
	Position string `json:"position"`
	Block    uint64 `json:"block"`
	Time     string `json:"time"`
	Asset    string `json:"asset"`
	Amount   string `json:"amount"`
	Tainted  string `json:"tainted"`
	Hops     int    `json:"hops"`
	Source   string `json:"source"`
	// Destination is, for a deposit that a log shows reached a mixer or bridge through a
	// router, the contract it reached.
	Destination string `json:"destination,omitempty"`
	// ToChain is, for a bridge deposit whose log names it, the destination chain's id.
	ToChain string `json:"to_chain,omitempty"`
}

// Total is what reached one destination, of one asset.
type Total struct {
	Destination string `json:"destination"`
	Category    string `json:"category"`
	Entity      string `json:"entity"`
	Asset       string `json:"asset"`
	Amount      string `json:"amount"`
	Tainted     string `json:"tainted"`
	Transfers   int    `json:"transfers"`
}

// builder collects a replay's flows into a report.
type builder struct {
	edges []Edge
	seen  map[string]bool      // edges by tx|position|to
	first map[string]time.Time // when each address first took part
	hops  map[string]int
	dest  map[string]bool // addresses a flow ended at as a labelled service
}

func newBuilder() *builder {
	return &builder{seen: map[string]bool{}, first: map[string]time.Time{},
		hops: map[string]int{}, dest: map[string]bool{}}
}

// add records flow f of movement m.
func (b *builder) add(m *chains.Movement, f *rules.Flow) {
	h := &f.Hop
	key := h.Tx + "|" + h.Position + "|" + h.To
	if b.seen[key] {
		return
	}
	b.seen[key] = true
	tainted := h.Amount
	if h.Tainted != nil {
		tainted = h.Tainted
	}
	e := Edge{From: h.From, To: h.To, Tx: h.Tx, Position: h.Position, Block: h.Block,
		Time: h.Time.UTC().Format(time.RFC3339), Asset: h.Asset, Amount: h.Amount.String(),
		Tainted: tainted.String(), Hops: f.Depth, Source: f.Root}
	if f.Destination != "" && f.Destination != h.To {
		e.Destination = f.Destination
	}
	if m.Event == chains.EventBridgeDeposit {
		e.ToChain = m.ToChain
	}
	b.edges = append(b.edges, e)
	b.touch(h.From, h.Time, f.Depth-1)
	b.touch(h.To, h.Time, f.Depth)
	if f.Destination != "" {
		b.dest[f.Destination] = true
		b.touch(f.Destination, h.Time, f.Depth)
	}
}

// touch notes that address a took part at t, hops from a given address.
func (b *builder) touch(a string, t time.Time, hops int) {
	if _, ok := b.first[a]; !ok {
		b.first[a], b.hops[a] = t, hops
	}
	b.hops[a] = min(b.hops[a], hops)
}

// Report returns the report of what the replay saw so far.
func (r *Replayer) Report() *Report {
	b := r.graph
	rep := &Report{Chain: r.opts.Chain, FromBlock: r.opts.From, ToBlock: r.opts.To,
		Model: r.opts.Model, MaxHops: r.opts.Hops, Sources: slices.Clone(r.opts.Sources),
		Edges: slices.Clone(b.edges), Explorer: r.opts.Explorer, Tokens: r.opts.Tokens}
	slices.Sort(rep.Sources)
	if !r.opts.AsOf.IsZero() {
		rep.AsOf = r.opts.AsOf.UTC().Format(time.RFC3339)
	}
	nodes := maps.Clone(b.first)
	for _, s := range r.opts.Sources { // a given address its funds never left
		if _, ok := nodes[s]; !ok {
			nodes[s] = r.opts.AsOf
		}
	}
	labels := map[string]*Label{}
	for a, t := range nodes {
		n := Node{Address: a, Kind: KindAddress, Hops: b.hops[a]}
		at := r.at(t)
		if s, ok := r.lists.SourceAt(r.opts.Chain, a, at); ok {
			n.Designation = &Designation{Entity: s.Entity, Category: s.Category, List: s.List}
		}
		if l, ok := r.lists.LabelAt(r.opts.Chain, a, at); ok {
			n.Label = labelOf(l)
		} else if t, ok := r.taints[deposit.Key(a)]; ok {
			n.Label = labelOf(deposit.Label(*t)) // inferred, maybe after the funds arrived
		}
		switch {
		case r.roots[a]:
			n.Kind = KindSource
		case n.Label != nil || b.dest[a]:
			n.Kind = KindDestination
		}
		if n.Label != nil {
			labels[a] = n.Label
		}
		rep.Nodes = append(rep.Nodes, n)
	}
	slices.SortFunc(rep.Nodes, func(x, y Node) int {
		return cmp.Or(cmp.Compare(x.Hops, y.Hops), cmp.Compare(x.Address, y.Address))
	})
	rep.Totals = totals(rep.Edges, labels, r.opts.Destinations)
	return rep
}

func labelOf(l rules.Label) *Label {
	return &Label{Category: l.Category, Entity: l.Entity, List: l.List, Evidence: l.Evidence}
}

// totals sums, per destination of one of the categories and asset, what the edges brought
// there from addresses that are not such destinations themselves.
func totals(edges []Edge, labels map[string]*Label, categories []string) []Total {
	type key struct{ dest, asset string }
	type sum struct {
		Total
		amount, tainted big.Int
	}
	sums := map[key]*sum{}
	for _, e := range edges {
		dest := cmp.Or(e.Destination, e.To)
		l := labels[dest]
		if l == nil || !reaches(categories, l.Category) {
			continue
		}
		// Funds that a destination passes on (a deposit address inferred only after they
		// arrived, sweeping to its exchange's hot wallet) were counted where they arrived.
		if from := labels[e.From]; from != nil && reaches(categories, from.Category) {
			continue
		}
		k := key{dest, e.Asset}
		if sums[k] == nil {
			sums[k] = &sum{Total: Total{Destination: dest, Category: l.Category,
				Entity: l.Entity, Asset: e.Asset}}
		}
		s := sums[k]
		s.Transfers++
		add(&s.amount, e.Amount)
		add(&s.tainted, e.Tainted)
	}
	out := make([]Total, 0, len(sums))
	for _, s := range sums {
		s.Amount, s.Tainted = s.amount.String(), s.tainted.String()
		out = append(out, s.Total)
	}
	slices.SortFunc(out, func(x, y Total) int {
		return cmp.Or(cmp.Compare(x.Category, y.Category), cmp.Compare(x.Entity, y.Entity),
			cmp.Compare(x.Destination, y.Destination), cmp.Compare(x.Asset, y.Asset))
	})
	return out
}

// reaches says whether a label of category is one of categories, an exchange's deposit
// address counting as the exchange.
func reaches(categories []string, category string) bool {
	return slices.Contains(categories, category) ||
		category == rules.CategoryExchangeDeposit &&
			slices.Contains(categories, rules.CategoryExchange)
}

// add adds the decimal s to v.
func add(v *big.Int, s string) {
	n, _ := new(big.Int).SetString(s, 10)
	if n != nil {
		v.Add(v, n)
	}
}
