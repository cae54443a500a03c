package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func runLists(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "lists inspect [--format text|json] FILE... | lists diff [--format " +
		"text|json] OLD NEW"
	if len(args) == 0 {
		return usageError(stderr, "lists", "want a subcommand: %s", usage)
	}
	switch args[0] {
	case "inspect":
		return runListsInspect(ctx, args[1:], stdout, stderr)
	case "diff":
		return runListsDiff(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "Usage: flowwatch %s\n", usage)
		return exitOK
	}
	return usageError(stderr, "lists", "unknown subcommand %q: want %s", args[0], usage)
}

// inspection is what `lists inspect` reports of one file, or of all of them.
type inspection struct {
	File string `json:"file,omitempty"`
	// Total counts the address entries as the file lists them (one per OFAC feature or
	// CSV row), loaded or rejected.
	Total      int                   `json:"total"`
	Loaded     int                   `json:"loaded"`
	ByAsset    map[string]int        `json:"by_asset"`
	ByChain    map[string]int        `json:"by_chain"`
	ByRole     map[string]int        `json:"by_role"`
	ByCategory map[string]int        `json:"by_category"`
	Rejected   []watchlist.Rejection `json:"rejected"`
	Files      []*inspection         `json:"files,omitempty"`
}

func newInspection(file string) *inspection {
	return &inspection{File: file, ByAsset: map[string]int{}, ByChain: map[string]int{},
		ByRole: map[string]int{}, ByCategory: map[string]int{},
		Rejected: []watchlist.Rejection{}}
}

func (in *inspection) add(entries []watchlist.Entry, rejected []watchlist.Rejection) {
	in.Total += len(entries) + len(rejected)
	in.Loaded += len(entries)
	for _, e := range entries {
		if e.Asset != "" {
			in.ByAsset[e.Asset]++
		}
		in.ByChain[e.Chain]++
		in.ByRole[e.Role]++
		in.ByCategory[e.Category]++
	}
	in.Rejected = append(in.Rejected, rejected...)
}

func runListsInspect(_ context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "lists inspect [--format text|json] FILE...\n\n" +
		"Reads list files as the watcher would and reports, per file and in total, the\n" +
		"entries by asset (as the file names it), chain, role and category, and every\n" +
		"rejected entry with its file, line and reason. Formats: OFAC's SDN advanced XML\n" +
		"(.xml), the per-asset lists derived from it (sanctioned_addresses_<ASSET>.txt or\n" +
		".json), GraphSense TagPacks (.yaml), flowwatch CSV (.csv; chain bitcoin is\n" +
		"Bitcoin mainnet, other chains EVM) and plain text (.txt: an address per line,\n" +
		"with # chain:, # role:, # category: directives)."
	files, asJSON, code, ok := parseListsFlags("lists inspect", synopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) == 0 {
		return usageError(stderr, "lists inspect", "want one or more files")
	}
	total := newInspection("")
	for _, name := range files {
		entries, rejected, err := readListFile(name)
		if err != nil {
			return fail(stderr, "lists inspect", err)
		}
		in := newInspection(name)
		in.add(entries, rejected)
		total.add(entries, rejected)
		total.Files = append(total.Files, in)
	}
	if asJSON {
		return writeJSON(stdout, stderr, "lists inspect", total)
	}
	for _, in := range total.Files {
		printInspection(stdout, in.File, in)
	}
	if len(total.Files) > 1 {
		printInspection(stdout, "total", total)
	}
	return exitOK
}

func printInspection(w io.Writer, title string, in *inspection) {
	fmt.Fprintf(w, "%s: %d entries, %d loaded, %d rejected\n", title, in.Total, in.Loaded,
		len(in.Rejected))
	for _, c := range []struct {
		name string
		m    map[string]int
	}{{"asset", in.ByAsset}, {"chain", in.ByChain}, {"role", in.ByRole},
		{"category", in.ByCategory}} {
		if len(c.m) > 0 {
			fmt.Fprintf(w, "  by %-9s %s\n", c.name+":", counts(c.m))
		}
	}
	for _, r := range in.Rejected {
		where := fmt.Sprintf("%s:%d", r.File, r.Line)
		if r.Element != "" {
			where += " (" + r.Element + ")"
		}
		fmt.Fprintf(w, "  rejected %s: %s\n", where, r.Reason)
	}
}

// counts writes a map as "k n, k n, ..." by key.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// readListFile reads a list file by its kind, for inspection (no config: chain bitcoin is
// Bitcoin mainnet in CSV rows, other chains EVM).
func readListFile(name string) ([]watchlist.Entry, []watchlist.Rejection, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return watchlist.ReadFile(name, f, func(chain string) (chains.Family, string, bool) {
		if chain == "bitcoin" {
			return chains.FamilyBitcoin, "mainnet", true
		}
		return chains.FamilyEVM, "", true
	})
}

// diffEntry is an address that one snapshot has and the other not.
type diffEntry struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	Asset   string `json:"asset,omitempty"`
	Role    string `json:"role"`
	Entity  string `json:"entity"`
}

func runListsDiff(_ context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "lists diff [--format text|json] OLD NEW\n\n" +
		"Prints the addresses NEW lists and OLD does not (added, +) and those OLD lists and\n" +
		"NEW does not (removed, -), per chain, e.g. between two snapshots of OFAC's SDN list:\n" +
		"a delisting shows as removed. Formats as for lists inspect."
	files, asJSON, code, ok := parseListsFlags("lists diff", synopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) != 2 {
		return usageError(stderr, "lists diff", "want two files, OLD and NEW")
	}
	var sets [2]map[string]diffEntry
	for i, name := range files {
		entries, _, err := readListFile(name)
		if err != nil {
			return fail(stderr, "lists diff", err)
		}
		sets[i] = map[string]diffEntry{}
		for _, e := range entries {
			sets[i][e.Role+" "+e.Chain+" "+e.Address] = diffEntry{Chain: e.Chain,
				Address: e.Address, Asset: e.Asset, Role: e.Role, Entity: e.Entity}
		}
	}
	out := struct {
		Added   []diffEntry `json:"added"`
		Removed []diffEntry `json:"removed"`
	}{Added: only(sets[1], sets[0]), Removed: only(sets[0], sets[1])}
	if asJSON {
		return writeJSON(stdout, stderr, "lists diff", out)
	}
	for _, d := range []struct {
		sign    string
		entries []diffEntry
	}{{"+", out.Added}, {"-", out.Removed}} {
		for _, e := range d.entries {
			fmt.Fprintf(stdout, "%s %s %s %s (%s%s)\n", d.sign, e.Role, e.Chain, e.Address,
				assetPrefix(e.Asset), e.Entity)
		}
	}
	fmt.Fprintf(stdout, "%d added, %d removed\n", len(out.Added), len(out.Removed))
	return exitOK
}

func assetPrefix(asset string) string {
	if asset == "" {
		return ""
	}
	return asset + ", "
}

// only returns the entries of a that b lacks, sorted by chain and address.
func only(a, b map[string]diffEntry) []diffEntry {
	out := []diffEntry{}
	for k, e := range a {
		if _, ok := b[k]; !ok {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Chain != out[j].Chain {
			return out[i].Chain < out[j].Chain
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// parseListsFlags parses a lists subcommand's --format flag; files are its arguments.
func parseListsFlags(name, synopsis string, args []string, stdout, stderr io.Writer) (
	files []string, asJSON bool, code int, ok bool) {
	fs := newFlagSet(name, synopsis, stderr)
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parseFlagsArgs(fs, args, stdout); !ok {
		return nil, false, code, false
	}
	if *format != "text" && *format != "json" {
		return nil, false, usageError(stderr, name, "--format %q: want text or json", *format),
			false
	}
	return fs.Args(), *format == "json", exitOK, true
}

func writeJSON(stdout, stderr io.Writer, cmd string, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(stderr, cmd, err)
	}
	return exitOK
}
