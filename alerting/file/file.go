package file

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/flowwatch/flowwatch/alerting"
)

var _ alerting.Notifier = (*Sink)(nil)

// Sink writes one JSON object per alert and line.
type Sink struct {
	mu   sync.Mutex
	w    io.Writer // stdout, or f
	f    *os.File
	cfg  Config
	size int64 // of f
}

// NewWriter returns a sink writing to w, never rotated (stdout).
func NewWriter(w io.Writer) *Sink { return &Sink{w: w} }

// Notify implements alerting.Notifier. A write error is worth retrying (a full disk may
// clear); an encoding error is not.
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
	if s.f != nil && s.size > 0 && s.size+int64(len(buf)) > s.cfg.MaxSize {
		if err := s.rotate(); err != nil {
			return true, err
		}
	}
	n, err := s.w.Write(buf)
	s.size += int64(n)
	if err != nil {
		return true, fmt.Errorf("write alerts: %w", err)
	}
	return false, nil
}

// rotate shifts path.i to path.i+1 (dropping the last), path to path.1, and starts path
// anew.
func (s *Sink) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("rotate %s: %w", s.cfg.Path, err)
	}
	name := func(i int) string {
		if i == 0 {
			return s.cfg.Path
		}
		return s.cfg.Path + "." + strconv.Itoa(i)
	}
	_ = os.Remove(name(s.cfg.MaxFiles))
	for i := s.cfg.MaxFiles - 1; i >= 0; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("rotate %s: %w", s.cfg.Path, err)
		}
	}
	return s.open()
}

func (s *Sink) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open alert file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open alert file: %w", err)
	}
	s.f, s.w, s.size = f, f, st.Size()
	return nil
}

// Close closes the file (nothing for stdout).
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
