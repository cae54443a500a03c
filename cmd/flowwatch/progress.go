package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progressInterval is how often the progress line is redrawn at most.
const progressInterval = 200 * time.Millisecond

// progress draws a one-line progress bar on a terminal: blocks done, rate and time left.
// It draws nothing when its writer is not a terminal. Not safe for concurrent use.
type progress struct {
	w          io.Writer
	total      uint64
	done       uint64
	start      time.Time
	last       time.Time
	now        func() time.Time
	terminal   bool
	drawnWidth int
}

func newProgress(w io.Writer, total uint64, now func() time.Time) *progress {
	f, ok := w.(*os.File)
	t := now()
	return &progress{w: w, total: total, start: t, now: now,
		terminal: ok && term.IsTerminal(int(f.Fd()))}
}

// add counts n more blocks done and redraws when it is time.
func (p *progress) add(n uint64) {
	p.done += n
	if !p.terminal {
		return
	}
	if t := p.now(); t.Sub(p.last) >= progressInterval || p.done == p.total {
		p.last = t
		p.draw()
	}
}

func (p *progress) line() string {
	elapsed := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	const width = 24
	filled := int(pct / 100 * width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	return fmt.Sprintf("[%s] %d/%d blocks %5.1f%% %.0f blk/s ETA %s", bar, p.done, p.total,
		pct, rate, eta)
}

func (p *progress) draw() {
	l := p.line()
	pad := p.drawnWidth - len(l)
	p.drawnWidth = len(l)
	if pad < 0 {
		pad = 0
	}
	fmt.Fprintf(p.w, "\r%s%*s", l, pad, "")
}

// finish ends the progress line.
func (p *progress) finish() {
	if p.terminal && p.drawnWidth > 0 {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
