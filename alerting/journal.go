package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The journal is the alert log: every notification (an alert in one state) appended once,
// in order, each entry carrying the hash of the one before, so that an edited or deleted
// entry shows (Verify). It is also the outbox of delivery: a worker's alerts are accepted
// once they are in the journal, and the dispatcher reads them from it.

// DefaultDedupTTL is how long the journal remembers a notification it appended, to drop a
// repeat (a movement redelivered after a failure).
const DefaultDedupTTL = 30 * 24 * time.Hour

// GenesisHash is the Prev of the first entry.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one record of the journal.
type Entry struct {
	Seq   uint64    `json:"seq"`  // 1, 2, ... in append order
	Time  time.Time `json:"time"` // when it was appended
	Prev  string    `json:"prev"` // the previous entry's Hash; GenesisHash for the first
	Hash  string    `json:"hash"` // EntryHash of this entry
	Alert Alert     `json:"alert"`
	// Body is the alert as appended (JSON), which Hash covers.
	Body []byte `json:"-"`
	// Err says why Body does not decode into Alert (an edited entry); nil when it does.
	Err error `json:"-"`
}

// EntryHash is the hash of an entry: SHA-256 over the previous entry's hash, the sequence
// number, the append time (Unix nanoseconds) and the alert's JSON, each followed by a
// newline but the last, as lower-case hex.
func EntryHash(prev string, seq uint64, at time.Time, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%d\n", prev, seq, at.UnixNano())
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// newEntries makes the entries that append fresh after the entry (seq, hash) at time at.
func newEntries(seq uint64, hash string, at time.Time, fresh []Alert) ([]Entry, error) {
	out := make([]Entry, 0, len(fresh))
	for i := range fresh {
		body, err := json.Marshal(&fresh[i])
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", fresh[i].ID, err)
		}
		seq++
		e := Entry{Seq: seq, Time: at, Prev: hash, Alert: fresh[i], Body: body}
		e.Hash = EntryHash(e.Prev, e.Seq, e.Time, body)
		hash = e.Hash
		out = append(out, e)
	}
	return out, nil
}

// Journal is where alerts are logged, in the order they come.
type Journal interface {
	// Append appends, in order, those of alerts that were not appended before (by
	// DedupKey, remembered for at least DefaultDedupTTL) and returns their entries.
	Append(ctx context.Context, alerts ...Alert) ([]Entry, error)
	// Entries returns up to n entries with a sequence number above after, in order, as
	// stored (a deleted entry leaves a gap).
	Entries(ctx context.Context, after uint64, n int) ([]Entry, error)
	// Head returns the last entry's sequence number and hash (0 and GenesisHash when
	// empty): kept elsewhere, it shows a truncated tail.
	Head(ctx context.Context) (uint64, string, error)
}

// JournalStage is the stage that appends alerts to a Journal and passes on those it
// appended: the accepting end of the workers' pipeline, where dedup happens too.
type JournalStage struct {
	Journal Journal
	// Appended, if set, is called after alerts were appended (the dispatcher's Wake).
	Appended func()
}

// Exec implements Stage.
func (s JournalStage) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	es, err := s.Journal.Append(ctx, alerts...)
	if err != nil {
		return nil, fmt.Errorf("alert log: %w", err)
	}
	if len(es) > 0 && s.Appended != nil {
		s.Appended()
	}
	out := make([]Alert, len(es))
	for i := range es {
		out[i] = es[i].Alert
	}
	return out, nil
}

// Report is what Verify found.
type Report struct {
	Entries  uint64 // entries read
	First    uint64 // the first entry's sequence number (1 unless the log was trimmed)
	Head     uint64 // the last entry's sequence number
	HeadHash string // the last entry's hash: keep it elsewhere to notice a truncated tail
	Problems []string
}

// OK says whether Verify found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// verifyPage bounds the entries Verify reads at once.
const verifyPage = 1000

// Verify reads the whole journal and checks its hash chain: each entry's hash over its
// content, each entry's link to the one before, and the sequence numbers without gaps. An
// entry edited in place, or rewritten with its hash recomputed, breaks the chain at it or
// at the next; a deleted entry leaves a gap. Deleting the last entries shows only against
// a head hash kept elsewhere (Report.HeadHash; the heartbeat reports it).
func Verify(ctx context.Context, j Journal) (Report, error) {
	var r Report
	prev, next := "", uint64(0)
	for {
		es, err := j.Entries(ctx, next, verifyPage)
		if err != nil {
			return r, err
		}
		for i := range es {
			e := &es[i]
			switch {
			case r.Entries == 0:
				r.First = e.Seq
				if e.Seq == 1 && e.Prev != GenesisHash {
					r.problem("entry 1: prev %s, want the genesis hash", short(e.Prev))
				}
			case e.Seq != next+1:
				r.problem("entries %d to %d are missing", next+1, e.Seq-1)
			case e.Prev != prev:
				r.problem("entry %d: prev %s, but entry %d hashes to %s", e.Seq,
					short(e.Prev), next, short(prev))
			}
			if h := EntryHash(e.Prev, e.Seq, e.Time, e.Body); h != e.Hash {
				r.problem("entry %d: content hashes to %s, recorded %s (edited)", e.Seq,
					short(h), short(e.Hash))
			}
			if e.Err != nil {
				r.problem("entry %d: %v", e.Seq, e.Err)
			}
			r.Entries++
			prev, next = e.Hash, e.Seq
			r.Head, r.HeadHash = e.Seq, e.Hash
		}
		if len(es) < verifyPage {
			return r, nil
		}
	}
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// entryArgs are an entry's fields as the append script takes them: seq, time, prev, hash,
// body.
func entryArgs(e *Entry) []any {
	return []any{strconv.FormatUint(e.Seq, 10), strconv.FormatInt(e.Time.UnixNano(), 10),
		e.Prev, e.Hash, e.Body}
}

// parseEntry reads an entry from a stream entry's fields. The alert is decoded from the body
// as stored; a body that does not decode sets Err rather than failing the read, so that
// Verify reports it with the rest.
func parseEntry(id string, fields map[string]any) (Entry, error) {
	str := func(k string) string { s, _ := fields[k].(string); return s }
	var e Entry
	seq, err := strconv.ParseUint(str("seq"), 10, 64)
	if err != nil {
		return e, fmt.Errorf("journal entry %s: seq %q", id, str("seq"))
	}
	ns, err := strconv.ParseInt(str("time"), 10, 64)
	if err != nil {
		return e, fmt.Errorf("journal entry %s: time %q", id, str("time"))
	}
	e = Entry{Seq: seq, Time: time.Unix(0, ns).UTC(), Prev: str("prev"), Hash: str("hash"),
		Body: []byte(str("alert"))}
	if err := json.Unmarshal(e.Body, &e.Alert); err != nil {
		e.Err = fmt.Errorf("alert does not decode: %w", err)
	}
	return e, nil
}
