// Package watchlist holds what the watcher follows (sources: sanctioned and attributed
// addresses) and what it recognizes (labels: exchanges, mixers, bridges, ...), per chain,
// with addresses normalized for the chain's family, each entry with the interval it is
// valid in and where it came from.
//
// Loaders read the lists as they are published — OFAC's SDN advanced XML (streamed), the
// per-asset lists derived from it, GraphSense TagPacks, flowwatch's CSV and plain text —
// into Entries; each reports every bad entry with its file and line (and element) and
// loads the rest. ReadFile picks the loader by the file's name.
//
// Lists is read-only once loaded and safe for concurrent reads; Live holds the Lists in
// use and lets a reload replace them while workers read.
package watchlist
