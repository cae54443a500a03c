package watchlist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// ReadTXT reads a plain text list: one address per line, and "# key: value" lines that set
// what the addresses after them are — chain, role (source or label), category, entity,
// source (the list's name), valid_from and valid_to (YYYY-MM-DD):
//
//	# chain: ethereum
//	# role: source
//	# category: hack
//	# entity: Lazarus Group
//	0x098B716B8Aaf21512996dC57EB0615e2383E2f96
//
// Other "#" lines are comments. An address before chain, role and category are set, or one
// that does not validate, is rejected with its line.
func ReadTXT(name string, r io.Reader, info ChainInfo) ([]Entry, []Rejection, error) {
	sc := bufio.NewScanner(r)
	var cur Entry
	var entries []Entry
	var rejected []Rejection
	reject := func(line int, addr string, err error) {
		rejected = append(rejected, Rejection{File: name, Line: line, Address: addr,
			Reason: err.Error()})
	}
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if c, ok := strings.CutPrefix(text, "#"); ok {
			key, value, found := strings.Cut(c, ":")
			if !found {
				continue // a comment
			}
			if err := setTXTKey(&cur, strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
				reject(line, "", err)
			}
			continue
		}
		e, err := txtEntry(cur, text, info)
		if errors.Is(err, errNotFollowed) {
			continue
		}
		if err != nil {
			reject(line, text, err)
			continue
		}
		e.Origin.File, e.Origin.Line = name, line
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return entries, rejected, nil
}

func setTXTKey(e *Entry, key, value string) error {
	switch key {
	case "chain":
		e.Chain = value
	case "role":
		if value != RoleSource && value != RoleLabel {
			return fmt.Errorf("role %q: want source or label", value)
		}
		e.Role = value
	case "category":
		e.Category = value
	case "entity":
		e.Entity = value
	case "source":
		e.Origin.List = value
	case "valid_from", "valid_to":
		var t time.Time
		if value != "" {
			var err error
			if t, err = time.Parse(time.DateOnly, value); err != nil {
				return fmt.Errorf("%s %q: want YYYY-MM-DD", key, value)
			}
		}
		if key == "valid_from" {
			e.ValidFrom = t
		} else {
			e.ValidTo = t
		}
	}
	return nil // other keys are comments that happen to have a colon
}

func txtEntry(e Entry, addr string, info ChainInfo) (Entry, error) {
	if e.Chain == "" || e.Role == "" || e.Category == "" {
		return Entry{}, errors.New("no '# chain:', '# role:' and '# category:' lines before " +
			"the first address")
	}
	family, network, ok := info(e.Chain)
	if !ok {
		if KnownChains[e.Chain] {
			return Entry{}, errNotFollowed
		}
		return Entry{}, fmt.Errorf("chain %q is not configured (nor a chain lists name)",
			e.Chain)
	}
	norm, err := chains.NormalizeAddress(family, network, addr)
	if err != nil {
		return Entry{}, err
	}
	e.Address = norm
	return e, nil
}
