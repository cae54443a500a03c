package watchlist

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// ReadFile reads a list file by its kind: OFAC's SDN advanced XML (.xml), a per-asset list
// derived from it (sanctioned_addresses_<ASSET>.txt or .json), a GraphSense TagPack (.yaml,
// .yml), flowwatch's CSV (.csv, whose rows name their chain: info says its family) or a
// plain text list (.txt, see ReadTXT).
func ReadFile(name string, r io.Reader, info ChainInfo) ([]Entry, []Rejection, error) {
	if asset, ok := AssetListAsset(name); ok {
		return ReadAssetList(name, asset, r)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xml":
		return ReadOFACXML(name, r)
	case ".yaml", ".yml":
		return ReadTagPack(name, r)
	case ".csv":
		return ReadCSV(name, r, info)
	case ".txt":
		return ReadTXT(name, r, info)
	}
	return nil, nil, fmt.Errorf("%s: a list format flowwatch does not read (want .xml for "+
		"OFAC's SDN advanced XML, sanctioned_addresses_<ASSET>.txt or .json, .yaml for a "+
		"GraphSense TagPack, .csv, or a plain .txt list)", name)
}
