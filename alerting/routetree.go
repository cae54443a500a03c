package alerting

import "slices"

// Match selects notifications by their incident's severity, rule, chain and destination
// category; an empty list matches anything, and a notification must match every list.
type Match struct {
	Severity []string
	Rule     []string
	Chain    []string
	Category []string
}

func (m *Match) matches(a *Alert) bool {
	sev := a.Severity
	if a.Incident != nil {
		sev = a.Incident.Severity
	}
	ok := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return ok(m.Severity, sev) && ok(m.Rule, a.Rule) && ok(m.Chain, a.Chain) &&
		ok(m.Category, a.Destination.Category)
}

// RouteNode is a node of the routing tree, as in Alertmanager: a notification that matches
// a node goes down to its first child that matches it (and on to the next ones that match
// while the matching child says Continue); if no child matches it, it goes to the node's
// own sinks. The root matches everything.
type RouteNode struct {
	Match    Match
	Sinks    []string
	Continue bool
	Routes   []RouteNode
}

// Route returns the names of the sinks a notification goes to, each once, in the order the
// tree names them.
func (r *RouteNode) Route(a *Alert) []string {
	var out []string
	r.route(a, &out)
	return out
}

// route adds to out the sinks of the subtree under r, which matches a; it reports whether
// a child route took a.
func (r *RouteNode) route(a *Alert, out *[]string) {
	taken := false
	for i := range r.Routes {
		c := &r.Routes[i]
		if !c.Match.matches(a) {
			continue
		}
		c.route(a, out)
		taken = true
		if !c.Continue {
			break
		}
	}
	if taken {
		return
	}
	for _, s := range r.Sinks {
		if !slices.Contains(*out, s) {
			*out = append(*out, s)
		}
	}
}

// SinkNames are every sink the tree names.
func (r *RouteNode) SinkNames() []string {
	var out []string
	var walk func(n *RouteNode)
	walk = func(n *RouteNode) {
		for _, s := range n.Sinks {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		for i := range n.Routes {
			walk(&n.Routes[i])
		}
	}
	walk(r)
	return out
}
