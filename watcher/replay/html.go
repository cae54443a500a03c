package replay

import (
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes rep as one self-contained HTML page (no network needed to open it):
// the graph, the totals that reached each destination, and a table of hops with explorer
// links when rep.Explorer is set.
func WriteHTML(w io.Writer, rep *Report) error {
	labels := rep.labels()
	data := htmlReport{Report: rep, Title: rep.title(), Graph: template.HTML(svgGraph(rep))}
	for _, t := range rep.Totals {
		data.Totals = append(data.Totals, htmlTotal{Total: t,
			Where:     t.Entity + " (" + strings.ReplaceAll(t.Category, "_", " ") + ")",
			Addr:      shortAddr(rep.Chain, t.Destination),
			AddrLink:  rep.addressLink(t.Destination),
			TaintedIs: rep.Amount(t.Asset, t.Tainted),
			AmountIs:  rep.Amount(t.Asset, t.Amount)})
	}
	for i, e := range rep.Edges {
		h := htmlHop{N: i + 1, Edge: e, FromIs: rep.who(labels, e.From),
			ToIs: rep.who(labels, e.reached()), TxShort: shortHash(e.Tx),
			TxLink: rep.txLink(e.Tx), AmountIs: rep.Amount(e.Asset, e.Amount),
			TaintedIs: rep.Amount(e.Asset, e.Tainted)}
		data.Hops = append(data.Hops, h)
	}
	for _, s := range rep.Sources {
		data.Sources = append(data.Sources, htmlAddr{Addr: s, Link: rep.addressLink(s)})
	}
	return page.Execute(w, data)
}

type htmlReport struct {
	*Report
	Title   string
	Graph   template.HTML
	Sources []htmlAddr
	Totals  []htmlTotal
	Hops    []htmlHop
}

type htmlAddr struct{ Addr, Link string }

type htmlTotal struct {
	Total
	Where, Addr, AddrLink, TaintedIs, AmountIs string
}

type htmlHop struct {
	Edge
	N                             int
	FromIs, ToIs, TxShort, TxLink string
	AmountIs, TaintedIs           string
}

// who names an address in the hops table: its label's entity, or the short address.
func (rep *Report) who(labels map[string]*Label, a string) string {
	if l := labels[a]; l != nil {
		return l.Entity + " (" + strings.ReplaceAll(l.Category, "_", " ") + ")"
	}
	return shortAddr(rep.Chain, a)
}

// txLink is the explorer's page of tx, or "".
func (rep *Report) txLink(tx string) string {
	if rep.Explorer == "" {
		return ""
	}
	return rep.Explorer + tx
}

// addressLink is the explorer's page of an address, where its transaction URL prefix
// ends in /tx/ (Etherscan, mempool.space and most others), or "".
func (rep *Report) addressLink(a string) string {
	if !strings.HasSuffix(rep.Explorer, "/tx/") {
		return ""
	}
	return strings.TrimSuffix(rep.Explorer, "tx/") + "address/" + a
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>flowwatch replay: {{.Title}}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px;
  color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
#graph { overflow-x: auto; border: 1px solid #eee; padding: 8px; }
g.node.dim, g.edge.dim { opacity: 0.2; }
code { font-size: 12px; }
</style>
</head>
<body>
<h1>flowwatch replay: {{.Title}}</h1>
<p>Funds followed out of
{{range $i, $s := .Sources}}{{if $i}}, {{end}}{{if $s.Link}}<a href="{{$s.Link}}"><code>{{$s.Addr}}</code></a>{{else}}<code>{{$s.Addr}}</code>{{end}}{{end}}
under the <b>{{.Model}}</b> taint model, up to {{.MaxHops}} hops{{if .AsOf}}, with labels and
designations as of {{.AsOf}}{{else}}, with labels and designations as they were at each
transfer{{end}}.
{{len .Nodes}} addresses, {{len .Edges}} transfers.</p>

<h2>Reached exchanges, mixers and bridges</h2>
{{if .Totals}}<table id="totals">
<tr><th>Destination</th><th>Address</th><th>Asset</th><th>Watched funds</th><th>Of</th><th>Transfers</th></tr>
{{range .Totals}}<tr class="total" data-destination="{{.Destination}}"><td>{{.Where}}</td>
<td>{{if .AddrLink}}<a href="{{.AddrLink}}"><code>{{.Addr}}</code></a>{{else}}<code>{{.Addr}}</code>{{end}}</td>
<td>{{.Asset}}</td><td class="num">{{.TaintedIs}}</td><td class="num">{{.AmountIs}}</td>
<td class="num">{{.Transfers}}</td></tr>
{{end}}</table>{{else}}<p id="totals-none">None of the followed funds reached a labelled
exchange, mixer or bridge in this range.</p>{{end}}

<h2>Flow</h2>
<div id="graph">
{{.Graph}}
</div>

<h2>Hops</h2>
<table id="hops">
<tr><th>#</th><th>Block</th><th>Time (UTC)</th><th>From</th><th>To</th><th>Amount</th><th>Watched</th><th>Hop</th><th>Transaction</th></tr>
{{range .Hops}}<tr class="hop" data-tx="{{.Tx}}" data-position="{{.Position}}"><td class="num">{{.N}}</td>
<td class="num">{{.Block}}</td><td>{{.Time}}</td><td>{{.FromIs}}</td><td>{{.ToIs}}</td>
<td class="num">{{.AmountIs}}</td><td class="num">{{.TaintedIs}}</td><td class="num">{{.Hops}}</td>
<td>{{if .TxLink}}<a href="{{.TxLink}}"><code>{{.TxShort}}</code></a>{{else}}<code>{{.TxShort}}</code>{{end}} <code>{{.Position}}</code></td></tr>
{{end}}</table>
<p><small>Made by flowwatch replay. Amounts of tokens that no token list names are in the
token's base units.</small></p>
<script>
// Hovering a node dims what does not touch it; the page also records how many nodes the
// browser laid out, for tests.
(function () {
  var nodes = document.querySelectorAll("#flow-graph g.node");
  var edges = document.querySelectorAll("#flow-graph g.edge");
  var drawn = 0;
  nodes.forEach(function (n) {
    var r = n.getBBox();
    if (r.width > 0 && r.height > 0) { drawn++; }
    n.addEventListener("mouseenter", function () {
      var a = n.getAttribute("data-address");
      edges.forEach(function (e) {
        var on = e.getAttribute("data-from") === a || e.getAttribute("data-to") === a;
        e.classList.toggle("dim", !on);
      });
    });
    n.addEventListener("mouseleave", function () {
      edges.forEach(function (e) { e.classList.remove("dim"); });
    });
  });
  document.body.setAttribute("data-drawn-nodes", String(drawn));
})();
</script>
</body>
</html>
`))
