package watchlist

import (
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ListTagPack prefixes, in origins, a GraphSense TagPack's title.
const ListTagPack = "TagPack"

// tagFields are the TagPack fields a tag inherits from its pack unless it sets them.
type tagFields struct {
	Address    string `yaml:"address"`
	Label      string `yaml:"label"`
	Source     string `yaml:"source"`
	Currency   string `yaml:"currency"`
	Network    string `yaml:"network"`
	Category   string `yaml:"category"`
	Abuse      string `yaml:"abuse"`
	Actor      string `yaml:"actor"`
	Confidence string `yaml:"confidence"`
	LastMod    string `yaml:"lastmod"`
}

func (f *tagFields) inherit(pack *tagFields) {
	for _, p := range []struct {
		tag  *string
		pack string
	}{
		{&f.Label, pack.Label}, {&f.Source, pack.Source}, {&f.Currency, pack.Currency},
		{&f.Network, pack.Network}, {&f.Category, pack.Category}, {&f.Abuse, pack.Abuse},
		{&f.Actor, pack.Actor}, {&f.Confidence, pack.Confidence}, {&f.LastMod, pack.LastMod},
	} {
		if *p.tag == "" {
			*p.tag = p.pack
		}
	}
}

// tagpackAssets maps GraphSense currency and network codes to the asset codes assetChain
// knows.
var tagpackAssets = map[string]string{
	"BTC": "XBT", "ETH": "ETH", "TRX": "TRX", "USDT": "USDT", "USDC": "USDC", "LTC": "LTC",
	"BCH": "BCH", "ZEC": "ZEC", "XMR": "XMR", "SOL": "SOL", "DASH": "DASH", "BSV": "BSV",
	"BEP2": "BNB", "BNB": "BNB", "BEP20": "BSC", "BSC": "BSC", "ARB": "ARB", "ETC": "ETC",
	"XRP": "XRP",
}

// abuseCategories maps TagPack abuse values to source categories.
var abuseCategories = map[string]string{
	"sanction": "sanctioned", "ransomware": "ransomware", "service_hack": "hack",
	"hack": "hack", "scam": "scam", "phishing": "phishing", "darkweb_market": "darknet",
}

// labelCategories maps TagPack categories to label categories where flowwatch names them
// differently; others are kept as they are.
var labelCategories = map[string]string{
	"mixing_service": "mixer", "defi_dex": "dex", "defi_bridge": "bridge",
	"defi_lending": "defi", "defi": "defi",
}

// ReadTagPack reads a GraphSense TagPack: pack-level fields are inherited by its tags. A tag
// with an abuse (sanction, ransomware, hack, …) is a source of that category; the others are
// labels of their category (exchange, mixer, …). Tags whose address does not fit their
// currency, or whose currency flowwatch does not follow, are rejected with their line.
func ReadTagPack(name string, r io.Reader) ([]Entry, []Rejection, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s: not a TagPack (want a mapping)", name)
	}
	root := doc.Content[0]
	var pack tagFields
	var title string
	var tags *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "tags":
			tags = root.Content[i+1]
		case "title":
			title = root.Content[i+1].Value
		}
	}
	if err := root.Decode(&pack); err != nil {
		return nil, nil, fmt.Errorf("%s:%d: %w", name, root.Line, err)
	}
	if tags == nil || tags.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%s:%d: not a TagPack (no tags list)", name, root.Line)
	}
	var entries []Entry
	var rejected []Rejection
	for _, n := range tags.Content {
		var tag tagFields
		if err := n.Decode(&tag); err != nil {
			rejected = append(rejected, Rejection{File: name, Line: n.Line, Reason: err.Error()})
			continue
		}
		tag.inherit(&pack)
		e, err := tagEntry(&tag)
		if err != nil {
			rejected = append(rejected, Rejection{File: name, Line: n.Line,
				Address: tag.Address, Reason: err.Error()})
			continue
		}
		e.Origin = Origin{File: name, Line: n.Line, List: ListTagPack + " " + title}
		if d, err := time.Parse(time.DateOnly, tag.LastMod); err == nil {
			e.Origin.Date = d
		}
		entries = append(entries, e)
	}
	return entries, rejected, nil
}

func tagEntry(t *tagFields) (Entry, error) {
	code := strings.ToUpper(strings.TrimSpace(t.Network))
	if code == "" {
		code = strings.ToUpper(strings.TrimSpace(t.Currency))
	}
	asset, ok := tagpackAssets[code]
	if !ok {
		return Entry{}, fmt.Errorf("currency %q: not a chain flowwatch follows", code)
	}
	chain, addr, err := assetChain(asset, t.Address)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Chain: chain, Address: addr, Asset: code, Entity: t.Label}
	if e.Entity == "" {
		e.Entity = t.Actor
	}
	switch {
	case t.Abuse != "":
		e.Role, e.Category = RoleSource, abuseCategories[t.Abuse]
		if e.Category == "" {
			e.Category = t.Abuse
		}
	case t.Category != "":
		e.Role, e.Category = RoleLabel, labelCategories[t.Category]
		if e.Category == "" {
			e.Category = t.Category
		}
	default:
		return Entry{}, fmt.Errorf("address %q: neither abuse nor category", t.Address)
	}
	return e, nil
}
