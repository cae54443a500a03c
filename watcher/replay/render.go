package replay

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os/exec"
	"strconv"
	"strings"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
)

// Formats a report renders as, by file extension.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatDOT  = "dot"
	FormatSVG  = "svg"
	FormatHTML = "html"
)

// Formats are the formats Render writes.
var Formats = []string{FormatJSON, FormatCSV, FormatDOT, FormatSVG, FormatHTML}

// ErrNoGraphviz is returned for SVG when Graphviz's dot is not installed.
var ErrNoGraphviz = errors.New("SVG needs Graphviz's dot, which is not installed " +
	"(apt install graphviz); the HTML report draws its graph without it")

// Render writes rep in format to w. SVG runs Graphviz's dot (found by LookPath).
func Render(ctx context.Context, w io.Writer, rep *Report, format string) error {
	switch format {
	case FormatJSON:
		return WriteJSON(w, rep)
	case FormatCSV:
		return WriteCSV(w, rep)
	case FormatDOT:
		return WriteDOT(w, rep)
	case FormatSVG:
		return WriteSVG(ctx, w, rep)
	case FormatHTML:
		return WriteHTML(w, rep)
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes rep as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{"block", "time", "tx", "position", "from", "to", "asset", "amount",
	"tainted", "hops", "source", "destination", "to_category", "to_entity"}

// WriteCSV writes rep's edges, one per row, in chain order, with the label of the address
// (or contract) each reached.
func WriteCSV(w io.Writer, rep *Report) error {
	labels := rep.labels()
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, e := range rep.Edges {
		var cat, entity string
		if l := labels[e.reached()]; l != nil {
			cat, entity = l.Category, l.Entity
		}
		rec := []string{strconv.FormatUint(e.Block, 10), e.Time, e.Tx, e.Position, e.From,
			e.To, e.Asset, e.Amount, e.Tainted, strconv.Itoa(e.Hops), e.Source, e.Destination,
			cat, entity}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// reached is where an edge's value ended: the contract a deposit log names, or the
// recipient.
func (e *Edge) reached() string {
	if e.Destination != "" {
		return e.Destination
	}
	return e.To
}

// labels are the report's labels by address.
func (rep *Report) labels() map[string]*Label {
	out := map[string]*Label{}
	for i := range rep.Nodes {
		if l := rep.Nodes[i].Label; l != nil {
			out[rep.Nodes[i].Address] = l
		}
	}
	return out
}

// nodeIDs names the report's nodes n0, n1, ... in their order.
func (rep *Report) nodeIDs() map[string]string {
	ids := make(map[string]string, len(rep.Nodes))
	for i := range rep.Nodes {
		ids[rep.Nodes[i].Address] = "n" + strconv.Itoa(i)
	}
	return ids
}

// Colours of the picture, by node kind and label category.
var colours = map[string]string{
	KindSource: "#d62728", KindAddress: "#7f7f7f", "exchange": "#ff7f0e",
	"exchange_deposit": "#ff7f0e", "mixer": "#9467bd", "bridge": "#1f77b4",
}

// colour is the node's colour.
func (n *Node) colour() string {
	if n.Kind == KindDestination && n.Label != nil {
		if c, ok := colours[n.Label.Category]; ok {
			return c
		}
		return "#2ca02c"
	}
	return colours[n.Kind]
}

// caption is what the picture writes in a node: who it is (label, designation), and
// what it is with the address.
func (n *Node) caption(chain string) []string {
	addr := shortAddr(chain, n.Address)
	switch {
	case n.Label != nil:
		what := strings.ReplaceAll(n.Label.Category, "_", " ")
		if n.Label.List == deposit.List {
			what += ", inferred"
		}
		return []string{n.Label.Entity, what + " · " + addr}
	case n.Designation != nil:
		return []string{n.Designation.Entity, n.Designation.Category + " · " + addr}
	case n.Kind == KindSource:
		return []string{"investigated address", addr}
	}
	return []string{addr}
}

// shortAddr is an address as people read it, shortened: EVM addresses checksummed.
func shortAddr(chain, a string) string {
	if strings.HasPrefix(a, "0x") && len(a) == 42 {
		a = chains.ChecksumEVM(a)
	}
	if len(a) <= 16 {
		return a
	}
	return a[:8] + "…" + a[len(a)-6:]
}

// Amount is a base-unit amount of asset as people read it: in coins of the chain's
// native asset or of a token the report knows, else in base units.
func (rep *Report) Amount(asset, base string) string {
	v, ok := new(big.Int).SetString(base, 10)
	if !ok {
		return base
	}
	if asset == chains.AssetNative {
		if symbol, decimals, known := chains.Coin(rep.Chain); known {
			return chains.FormatUnits(v, decimals) + " " + symbol
		}
		return base + " (base units)"
	}
	if t, ok := rep.Tokens[asset]; ok {
		return chains.FormatUnits(v, t.Decimals) + " " + t.Symbol
	}
	return base + " of token " + shortAddr(rep.Chain, asset)
}

// WriteDOT writes rep as a Graphviz digraph, left to right from the given addresses:
// one edge per hop, labelled with its tainted amount and transaction.
func WriteDOT(w io.Writer, rep *Report) error {
	var b bytes.Buffer
	ids := rep.nodeIDs()
	fmt.Fprintf(&b, "digraph flow {\n  rankdir=LR;\n  label=%s;\n  labelloc=t;\n"+
		"  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, "+
		"fontcolor=white];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
		dotQuote(rep.title()))
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		fmt.Fprintf(&b, "  %s [label=%s, fillcolor=%s, tooltip=%s];\n", ids[n.Address],
			dotQuote(strings.Join(n.caption(rep.Chain), "\n")), dotQuote(n.colour()),
			dotQuote(n.Address))
	}
	for _, e := range rep.Edges {
		label := rep.Amount(e.Asset, e.Tainted)
		if e.Tainted != e.Amount {
			label += " of " + rep.Amount(e.Asset, e.Amount)
		}
		label += "\nblock " + strconv.FormatUint(e.Block, 10) + " tx " + shortHash(e.Tx)
		fmt.Fprintf(&b, "  %s -> %s [label=%s, tooltip=%s];\n", ids[e.From], ids[e.To],
			dotQuote(label), dotQuote(e.Tx+" "+e.Position))
		if e.Destination != "" {
			fmt.Fprintf(&b, "  %s -> %s [style=dashed, label=\"deposit log\"];\n", ids[e.To],
				ids[e.Destination])
		}
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// title says what the report shows.
func (rep *Report) title() string {
	return fmt.Sprintf("%s blocks %d..%d, %s, up to %d hops", rep.Chain, rep.FromBlock,
		rep.ToBlock, rep.Model, rep.MaxHops)
}

// shortHash is a transaction hash shortened.
func shortHash(h string) string {
	if len(h) <= 14 {
		return h
	}
	return h[:10] + "…"
}

// dotQuote is s as a DOT string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// WriteSVG renders rep's DOT with Graphviz's dot.
func WriteSVG(ctx context.Context, w io.Writer, rep *Report) error {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return ErrNoGraphviz
	}
	var in, errOut bytes.Buffer
	if err := WriteDOT(&in, rep); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, dot, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, w, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot -Tsvg: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	return nil
}
