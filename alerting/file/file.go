// Package file is the sink that writes alerts as JSON Lines to a writer: a file or stdout.
// A Sink is safe for concurrent use: lines are never interleaved.
package file

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/flowwatch/flowwatch/alerting"
)

var _ alerting.Notifier = (*Sink)(nil)

// Sink writes one JSON object per alert and line.
type Sink struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a sink writing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

// Notify implements alerting.Notifier. A write error is worth retrying (a full disk may
// clear); a marshalling error is not.
func (s *Sink) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var buf []byte
	for i := range alerts {
		b, err := json.Marshal(&alerts[i])
		if err != nil {
			return false, fmt.Errorf("encode alert %s: %w", alerts[i].ID, err)
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf); err != nil {
		return true, fmt.Errorf("write alerts: %w", err)
	}
	return false, nil
}
