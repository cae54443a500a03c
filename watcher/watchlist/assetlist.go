package watchlist

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
)

// ListOFACAsset names, in origins, the per-asset lists that
// github.com/0xB10C/ofac-sanctioned-digital-currency-addresses derives from the SDN list.
const ListOFACAsset = "OFAC SDN (per-asset list)"

var assetListName = regexp.MustCompile(`^sanctioned_addresses_([A-Z0-9]+)\.(txt|json)$`)

// AssetListAsset returns the asset code a per-asset list's file name carries
// (sanctioned_addresses_XBT.txt: XBT), and whether the name is such a list's.
func AssetListAsset(name string) (string, bool) {
	m := assetListName.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ReadAssetList reads a per-asset list of sanctioned addresses: one address per line
// (.txt) or a JSON array of strings (.json), all of the given asset. Addresses that do not
// fit the asset are rejected with their line; err is for a file that is not such a list.
func ReadAssetList(name, asset string, r io.Reader) ([]Entry, []Rejection, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	type item struct {
		addr string
		line int
	}
	var items []item
	if strings.HasSuffix(name, ".json") {
		dec := json.NewDecoder(bytes.NewReader(b))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, nil, fmt.Errorf("%s: want a JSON array of addresses", name)
		}
		for dec.More() {
			var s string
			err := dec.Decode(&s)
			// After the value, the offset is on its line (its end).
			line := 1 + bytes.Count(b[:dec.InputOffset()], []byte{'\n'})
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", name, line, err)
			}
			items = append(items, item{s, line})
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for line := 1; sc.Scan(); line++ {
			if s := strings.TrimSpace(sc.Text()); s != "" && !strings.HasPrefix(s, "#") {
				items = append(items, item{s, line})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if asset == "" {
		return nil, nil, errors.New(name + ": no asset")
	}
	var entries []Entry
	var rejected []Rejection
	for _, it := range items {
		chain, addr, err := assetChain(asset, it.addr)
		if err != nil {
			rejected = append(rejected, Rejection{File: name, Line: it.line, Address: it.addr,
				Reason: err.Error()})
			continue
		}
		entries = append(entries, Entry{Chain: chain, Address: addr, Asset: asset,
			Role: RoleSource, Category: "sanctioned",
			Origin: Origin{File: name, Line: it.line, List: ListOFACAsset}})
	}
	return entries, rejected, nil
}
