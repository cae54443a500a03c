package watchlist

import (
	"fmt"
	"time"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Roles of an entry.
const (
	RoleSource = "source" // followed: sanctioned, attributed
	RoleLabel  = "label"  // recognized: an exchange, a mixer, ...
)

// Entry is one address as a list names it.
type Entry struct {
	Chain   string // the chain the address lives on
	Address string // normalized for the chain
	Asset   string // the asset code as the list names it (OFAC: XBT, ETH, USDT, ...)
	Role    string
	// Category: sanctioned, ransomware, hack, ... for sources; exchange, mixer, ... for
	// labels.
	Category string
	Entity   string
	Programs []string // sanctions programmes (OFAC: DPRK3, CYBER2, ...)
	// ValidFrom is when the designation began (zero: unknown), ValidTo when it ended (zero:
	// it has not).
	ValidFrom, ValidTo time.Time
	Origin             Origin
}

// Origin says where an entry comes from.
type Origin struct {
	File    string
	Line    int
	Element string    // e.g. "DistinctParty 22985, Feature 93748"
	List    string    // e.g. "OFAC SDN"
	Date    time.Time // the list's date of issue
}

// Rejection is an entry a loader could not take, and why.
type Rejection struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Element string `json:"element,omitempty"`
	Address string `json:"address"`
	Reason  string `json:"reason"`
}

// Error implements error: "file:line: reason".
func (r *Rejection) Error() string { return fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Reason) }

// Add adds entries to l with their validity. An address that several entries name keeps
// them all (its origins merge); a lookup returns one valid at the time asked.
func (l *Lists) Add(entries ...Entry) {
	for _, e := range entries {
		if e.Role == RoleLabel {
			l.addLabel(e.Chain, e.Address, dated[rules.Label]{V: rules.Label{Entity: e.Entity,
				Category: e.Category, List: e.Origin.List}, From: e.ValidFrom, To: e.ValidTo})
			continue
		}
		l.addSource(e.Chain, e.Address, dated[rules.Source]{V: rules.Source{Entity: e.Entity,
			Category: e.Category, List: e.Origin.List}, From: e.ValidFrom, To: e.ValidTo})
	}
}
