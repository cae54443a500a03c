package watchlist

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ListOFAC names OFAC's SDN list in origins.
const ListOFAC = "OFAC SDN"

const featurePrefix = "Digital Currency Address - "

// The parts of OFAC's SDN advanced XML that the loader reads; the rest is skipped.
type (
	ofacDate struct {
		Year  int `xml:"Year"`
		Month int `xml:"Month"`
		Day   int `xml:"Day"`
	}
	ofacFeatureType struct {
		ID   string `xml:"ID,attr"`
		Name string `xml:",chardata"`
	}
	ofacAlias struct {
		Primary bool `xml:"Primary,attr"`
		// One documented name per script (Latin, and the native one if any).
		Names []struct {
			Parts []string `xml:"DocumentedNamePart>NamePartValue"`
		} `xml:"DocumentedName"`
	}
	ofacParty struct {
		FixedRef string `xml:"FixedRef,attr"`
		Profiles []struct {
			ID         string `xml:"ID,attr"`
			Identities []struct {
				Aliases []ofacAlias `xml:"Alias"`
			} `xml:"Identity"`
			Features []struct {
				ID       string   `xml:"ID,attr"`
				TypeID   string   `xml:"FeatureTypeID,attr"`
				Versions []string `xml:"FeatureVersion>VersionDetail"`
			} `xml:"Feature"`
		} `xml:"Profile"`
	}
	ofacEntry struct {
		ProfileID string     `xml:"ProfileID,attr"`
		Events    []ofacDate `xml:"EntryEvent>Date"`
		Measures  []string   `xml:"SanctionsMeasure>Comment"`
	}
)

func (d ofacDate) time() time.Time {
	if d.Year == 0 {
		return time.Time{}
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
}

// ofacFeature is a digital-currency address feature, kept until the sanctions entries
// (which follow the parties in the file) give its dates and programmes.
type ofacFeature struct {
	profile, asset, address, element, entity string
	line                                     int
}

// ReadOFACXML reads OFAC's SDN advanced XML (sdn_advanced.xml) as it streams: every
// "Digital Currency Address - XXX" feature becomes a source entry of category sanctioned,
// with the party's primary name, its programmes and its designation date, on the chain its
// asset and format say. Memory grows with the address features, not with the file (the full
// file is 121 MB). A feature whose address does not fit its asset is rejected with its line
// and element; err is for a file that is not such XML at all.
func ReadOFACXML(name string, r io.Reader) ([]Entry, []Rejection, error) {
	dec := xml.NewDecoder(r)
	assets := map[string]string{} // feature type ID -> asset code
	var issued time.Time
	var features []ofacFeature
	entries := map[string]ofacEntry{} // by profile ID
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			return nil, nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		line, _ := dec.InputPos()
		switch se.Name.Local {
		case "Sanctions":
			sawRoot = true
		case "DateOfIssue":
			var d ofacDate
			if err := dec.DecodeElement(&d, &se); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: DateOfIssue: %w", name, line, err)
			}
			issued = d.time()
		case "FeatureType":
			var ft ofacFeatureType
			if err := dec.DecodeElement(&ft, &se); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: FeatureType: %w", name, line, err)
			}
			if code, ok := strings.CutPrefix(strings.TrimSpace(ft.Name), featurePrefix); ok {
				assets[ft.ID] = strings.TrimSpace(code)
			}
		case "DistinctParty":
			var p ofacParty
			if err := dec.DecodeElement(&p, &se); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: DistinctParty: %w", name, line, err)
			}
			features = append(features, partyFeatures(&p, assets, line)...)
		case "SanctionsEntry":
			var e ofacEntry
			if err := dec.DecodeElement(&e, &se); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: SanctionsEntry: %w", name, line, err)
			}
			entries[e.ProfileID] = e
		}
	}
	if !sawRoot {
		return nil, nil, fmt.Errorf("%s: not OFAC's advanced XML (no Sanctions element)", name)
	}
	var out []Entry
	var rejected []Rejection
	for _, f := range features {
		chain, addr, err := assetChain(f.asset, f.address)
		if err != nil {
			rejected = append(rejected, Rejection{File: name, Line: f.line, Element: f.element,
				Address: f.address, Reason: err.Error()})
			continue
		}
		e := entries[f.profile]
		var from time.Time
		if len(e.Events) > 0 {
			from = e.Events[0].time()
		}
		out = append(out, Entry{Chain: chain, Address: addr, Asset: f.asset, Role: RoleSource,
			Category: "sanctioned", Entity: f.entity, Programs: e.Measures, ValidFrom: from,
			Origin: Origin{File: name, Line: f.line, Element: f.element, List: ListOFAC,
				Date: issued}})
	}
	return out, rejected, nil
}

// partyFeatures returns a party's digital-currency address features.
func partyFeatures(p *ofacParty, assets map[string]string, line int) []ofacFeature {
	var out []ofacFeature
	for _, prof := range p.Profiles {
		var aliases []ofacAlias
		for _, id := range prof.Identities {
			aliases = append(aliases, id.Aliases...)
		}
		entity := primaryName(aliases)
		for _, f := range prof.Features {
			asset, ok := assets[f.TypeID]
			if !ok {
				continue
			}
			addr := ""
			if len(f.Versions) > 0 {
				addr = strings.TrimSpace(f.Versions[0])
			}
			out = append(out, ofacFeature{profile: prof.ID, asset: asset, address: addr,
				entity: entity, line: line,
				element: fmt.Sprintf("DistinctParty %s, Feature %s", p.FixedRef, f.ID)})
		}
	}
	return out
}

// primaryName joins the name parts of the primary alias, in every script it is written in.
func primaryName(aliases []ofacAlias) string {
	for _, a := range aliases {
		if !a.Primary {
			continue
		}
		var parts []string
		for _, n := range a.Names {
			parts = append(parts, n.Parts...)
		}
		return strings.Join(parts, " ")
	}
	return ""
}
