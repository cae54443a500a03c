package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/watcher/config"
)

const alertsUsage = "alerts list|show SEQ_OR_ID|export|verify --config FILE [flags]"

func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "alerts", "want a subcommand: %s", alertsUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list", "show", "export", "verify":
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "Usage: flowwatch %s\n\n%s\n", alertsUsage, alertsHelp)
		return exitOK
	default:
		return usageError(stderr, "alerts", "unknown subcommand %q: want %s", sub, alertsUsage)
	}
	fs := newFlagSet("alerts "+sub, "alerts "+sub+" --config FILE [flags]", stderr)
	path := fs.String("config", "", "config `file` (its redis holds the alert log)")
	after := fs.Uint64("after", 0, "list/export: entries after this sequence `number`")
	limit := fs.Int("limit", 50, "list: at most this many entries")
	format := fs.String("format", "json", "export: json (one entry per line) or csv")
	out := fs.String("out", "", "export: write to this `file` (default stdout)")
	var pos []string // arguments, with flags before or after them
	for {
		if code, ok := parseFlagsArgs(fs, rest, stdout); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	cmd := "alerts " + sub
	if *path == "" {
		return usageError(stderr, cmd, "--config is required")
	}
	if want := map[string]int{"show": 1}[sub]; len(pos) != want {
		return usageError(stderr, cmd, "want %d argument(s), got %d", want, len(pos))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	j, closeJ, err := openJournal(ctx, cfg)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	defer closeJ()
	switch sub {
	case "list":
		err = listAlerts(ctx, j, *after, *limit, stdout)
	case "show":
		err = showAlert(ctx, j, pos[0], stdout)
	case "export":
		err = exportAlerts(ctx, j, *after, *format, *out, stdout)
	case "verify":
		return verifyAlerts(ctx, j, stdout, stderr)
	}
	if err != nil {
		if errors.Is(err, errBadFlag) {
			return usageError(stderr, cmd, "%v", err)
		}
		return fail(stderr, cmd, err)
	}
	return exitOK
}

const alertsHelp = `The alert log holds every alert and state change, in order, each entry
carrying the hash of the one before (see the README, "Alerting").

  list     the entries after --after, at most --limit, one line each
  show     one entry in full: by sequence number or alert id (its latest state)
  export   every entry after --after as JSON lines or CSV (--format), to --out or stdout
  verify   check the hash chain; exit 1 and name each problem if an entry was edited or
           deleted. Prints the head hash: keep it elsewhere to catch a truncated tail.`

var errBadFlag = errors.New("bad flag")

// openJournal opens the alert log the config's Redis holds.
func openJournal(ctx context.Context, cfg *config.Config) (alerting.Journal, func(), error) {
	if cfg.Redis.URL == "" {
		return nil, nil, errors.New("the alert log lives in Redis: the config has no redis.url")
	}
	rdb, err := newRedis(ctx, cfg.Redis)
	if err != nil {
		return nil, nil, err
	}
	return alerting.NewRedisJournal(rdb, redisPrefix(cfg), nil), func() { rdb.Close() }, nil
}

// readEntries calls each with the entries after after, a page at a time, until each says
// stop or none are left.
func readEntries(ctx context.Context, j alerting.Journal, after uint64,
	each func(e *alerting.Entry) bool) error {
	const page = 500
	for {
		es, err := j.Entries(ctx, after, page)
		if err != nil {
			return err
		}
		for i := range es {
			if !each(&es[i]) {
				return nil
			}
			after = es[i].Seq
		}
		if len(es) < page {
			return nil
		}
	}
}

func listAlerts(ctx context.Context, j alerting.Journal, after uint64, limit int,
	w io.Writer) error {
	if limit < 1 {
		return fmt.Errorf("%w: --limit %d: want at least 1", errBadFlag, limit)
	}
	n := 0
	err := readEntries(ctx, j, after, func(e *alerting.Entry) bool {
		a := &e.Alert
		fmt.Fprintf(w, "%6d  %s  %-10s %-9s %-28s %s %s %s → %s (%s)\n", e.Seq,
			e.Time.Format(time.RFC3339), a.State, a.Severity, a.Rule, a.Chain, a.Tx,
			party(a.Source), party(a.Destination), amount(a))
		n++
		return n < limit
	})
	if err == nil && n == 0 {
		fmt.Fprintln(w, "no entries")
	}
	return err
}

func party(p alerting.Party) string {
	if p.Entity != "" {
		return p.Entity
	}
	return p.Address
}

func amount(a *alerting.Alert) string {
	if a.TaintedAmount != "" {
		return a.TaintedAmount + " of " + a.Amount + " " + a.Asset
	}
	return a.Amount + " " + a.Asset
}

// showAlert prints the entry with sequence number key, or the latest entry of the alert
// with id key in a block where it stands (see alerting.Standing), else its latest.
func showAlert(ctx context.Context, j alerting.Journal, key string, w io.Writer) error {
	seq, bySeq := strconv.ParseUint(key, 10, 64)
	var found *alerting.Entry
	standing := map[string]*alerting.Entry{} // by block: the alert's latest entry there
	err := readEntries(ctx, j, 0, func(e *alerting.Entry) bool {
		if bySeq == nil && e.Seq == seq || e.Alert.ID == key {
			c := *e
			found = &c
		}
		if e.Alert.ID == key && e.Alert.State == alerting.StateRetracted {
			delete(standing, e.Alert.BlockHash)
		} else if e.Alert.ID == key {
			standing[e.Alert.BlockHash] = found
		}
		return bySeq != nil || e.Seq < seq
	})
	if err != nil {
		return err
	}
	for _, e := range standing {
		if found.Alert.State == alerting.StateRetracted || e.Seq > found.Seq {
			found = e
		}
	}
	if found == nil {
		return fmt.Errorf("no entry %q in the alert log", key)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(found)
}

func exportAlerts(ctx context.Context, j alerting.Journal, after uint64, format, path string,
	stdout io.Writer) (err error) {
	if format != "json" && format != "csv" {
		return fmt.Errorf("%w: --format %q: want json or csv", errBadFlag, format)
	}
	w := stdout
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		var werr error
		err := readEntries(ctx, j, after, func(e *alerting.Entry) bool {
			werr = enc.Encode(e)
			return werr == nil
		})
		return errors.Join(err, werr)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	err = readEntries(ctx, j, after, func(e *alerting.Entry) bool {
		return cw.Write(csvRow(e)) == nil
	})
	cw.Flush()
	return errors.Join(err, cw.Error())
}

var csvHeader = []string{"seq", "logged", "hash", "id", "state", "rule", "severity", "chain",
	"block", "time", "tx", "position", "source", "source_entity", "source_category",
	"destination", "destination_entity", "destination_category", "asset", "amount",
	"tainted_amount", "hops", "path"}

func csvRow(e *alerting.Entry) []string {
	a := &e.Alert
	var path []string
	for _, h := range a.Path {
		path = append(path, h.Tx+":"+h.From+">"+h.To)
	}
	return []string{strconv.FormatUint(e.Seq, 10), e.Time.Format(time.RFC3339Nano), e.Hash,
		a.ID, string(a.State), a.Rule, a.Severity, a.Chain, strconv.FormatUint(a.Block, 10),
		a.Time.Format(time.RFC3339), a.Tx, a.Position, a.Source.Address, a.Source.Entity,
		a.Source.Category, a.Destination.Address, a.Destination.Entity,
		a.Destination.Category, a.Asset, a.Amount, a.TaintedAmount,
		strconv.Itoa(len(a.Path)), strings.Join(path, " ")}
}

func verifyAlerts(ctx context.Context, j alerting.Journal, stdout, stderr io.Writer) int {
	r, err := alerting.Verify(ctx, j)
	if err != nil {
		return fail(stderr, "alerts verify", err)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(stdout, "PROBLEM:", p)
	}
	status := "ok"
	if !r.OK() {
		status = fmt.Sprintf("%d problems", len(r.Problems))
	}
	fmt.Fprintf(stdout, "alert log: %s: %d entries (%d to %d), head hash %s\n", status,
		r.Entries, r.First, r.Head, r.HeadHash)
	if !r.OK() {
		return exitError
	}
	return exitOK
}
