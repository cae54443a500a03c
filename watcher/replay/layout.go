package replay

import (
	"cmp"
	"fmt"
	"html"
	"math/big"
	"slices"
	"strings"
)

// Sizes of the HTML report's picture, in SVG user units.
const (
	nodeWidth  = 270
	nodeHeight = 50
	colGap     = 360
	rowGap     = 80
	margin     = 30
	// labelInset is how far before its arrow's head an edge's label is centred: near the
	// end, where edges fanning out of one node have parted.
	labelInset = 52
)

// place is a node's position in the picture.
type place struct{ col, row int }

// layout places the nodes in columns by hops from a given address and, within a column,
// in the order of their predecessors' rows (then address): few crossings, and the same
// picture for the same report.
func layout(rep *Report) map[string]place {
	preds := map[string][]string{}
	for _, e := range rep.Edges {
		preds[e.To] = append(preds[e.To], e.From)
	}
	cols := map[int][]*Node{}
	maxCol := 0
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		cols[n.Hops] = append(cols[n.Hops], n)
		maxCol = max(maxCol, n.Hops)
	}
	at := map[string]place{}
	for c := 0; c <= maxCol; c++ {
		ns := cols[c]
		key := map[string]float64{}
		for _, n := range ns {
			sum, k := 0.0, 0
			for _, p := range preds[n.Address] {
				if pl, ok := at[p]; ok {
					sum, k = sum+float64(pl.row), k+1
				}
			}
			if k > 0 {
				key[n.Address] = sum / float64(k)
			}
		}
		slices.SortStableFunc(ns, func(a, b *Node) int {
			return cmp.Or(cmp.Compare(key[a.Address], key[b.Address]),
				cmp.Compare(a.Address, b.Address))
		})
		for r, n := range ns {
			at[n.Address] = place{c, r}
		}
	}
	return at
}

// flowLine is the edges between two nodes, drawn as one line.
type flowLine struct {
	from, to string
	tainted  map[string]*big.Int // by asset
	assets   []string
	count    int
}

// svgGraph draws rep as an SVG element: nodes as boxes in columns, edges between two
// nodes as one curve labelled with the tainted total per asset.
func svgGraph(rep *Report) string {
	at := layout(rep)
	rows := map[int]int{}
	cols := 0
	for _, p := range at {
		rows[p.col] = max(rows[p.col], p.row+1)
		cols = max(cols, p.col+1)
	}
	height := 0
	for _, r := range rows {
		height = max(height, r)
	}
	w, h := 2*margin+max(cols, 1)*colGap-(colGap-nodeWidth), 2*margin+max(height, 1)*rowGap
	pos := func(a string) (x, y int) {
		p := at[a]
		return margin + p.col*colGap, margin + p.row*rowGap
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="flow-graph" xmlns="http://www.w3.org/2000/svg" `+
		`viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`+"\n",
		w, h, w, h, html.EscapeString(rep.title()))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" ` +
		`markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
		`<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>` + "\n")
	for _, l := range flowLines(rep) {
		x1, y1 := pos(l.from)
		x2, y2 := pos(l.to)
		x1, y1, y2 = x1+nodeWidth, y1+nodeHeight/2, y2+nodeHeight/2
		mx := (x1 + x2) / 2
		var parts []string
		for _, a := range l.assets {
			parts = append(parts, rep.Amount(a, l.tainted[a].String()))
		}
		label := strings.Join(parts, " + ")
		if l.count > 1 {
			label += fmt.Sprintf(" (%d transfers)", l.count)
		}
		fmt.Fprintf(&b, `<g class="edge" data-from="%s" data-to="%s">`+
			`<path d="M %d %d C %d %d, %d %d, %d %d" fill="none" stroke="#555" `+
			`stroke-width="1.5" marker-end="url(#arrow)"/>`+
			`<text x="%d" y="%d" font-size="11" text-anchor="middle" fill="#222">%s</text>`+
			"</g>\n", l.from, l.to, x1, y1, mx, y1, mx, y2, x2, y2, x2-labelInset, y2-5,
			html.EscapeString(label))
	}
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		x, y := pos(n.Address)
		cap := n.caption(rep.Chain)
		fmt.Fprintf(&b, `<g class="node %s" data-address="%s"><title>%s</title>`+
			`<rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="%s"/>`,
			n.Kind, n.Address, html.EscapeString(n.Address), x, y, nodeWidth, nodeHeight,
			n.colour())
		for j, line := range cap {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#fff">%s</text>`,
				x+10, y+20+j*16, html.EscapeString(trim(line, 40)))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>")
	return b.String()
}

// flowLines groups rep's edges by their two ends, in the order of their first edge.
func flowLines(rep *Report) []*flowLine {
	var out []*flowLine
	by := map[[2]string]*flowLine{}
	for _, e := range rep.Edges {
		k := [2]string{e.From, e.To}
		l := by[k]
		if l == nil {
			l = &flowLine{from: e.From, to: e.To, tainted: map[string]*big.Int{}}
			by[k] = l
			out = append(out, l)
		}
		if l.tainted[e.Asset] == nil {
			l.tainted[e.Asset] = new(big.Int)
			l.assets = append(l.assets, e.Asset)
		}
		add(l.tainted[e.Asset], e.Tainted)
		l.count++
	}
	return out
}

// trim shortens s to n runes with an ellipsis.
func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
