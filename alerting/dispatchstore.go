package alerting

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotLeader is Save's error when the saver no longer holds the dispatcher's lease:
// another process dispatches now.
var ErrNotLeader = errors.New("not the dispatcher's leader")

// Queued is a notification waiting in a sink's queue.
type Queued struct {
	ID     string  `json:"id"` // the notification's key (Alert.NotificationKey)
	Alerts []Alert `json:"alerts"`
}

// Changes are what one dispatcher step saves, at once.
type Changes struct {
	Holder    string // the lease holder saving
	Cursor    uint64 // the journal entries read so far
	Incidents map[string]incidentState
	Gone      []string            // incident keys dropped
	Queued    map[string][]Queued // per sink, appended to its queue
}

// DispatchStore keeps the dispatcher's state: where it is in the journal, the incidents,
// and each sink's queue of notifications.
type DispatchStore interface {
	// Load returns the journal position and the incidents saved.
	Load(ctx context.Context) (cursor uint64, incidents []incidentState, err error)
	// Save records c at once, or nothing (ErrNotLeader when c.Holder lost the lease).
	Save(ctx context.Context, c Changes) error
	// Head returns the first notification in sink's queue; ok is false when it is empty.
	Head(ctx context.Context, sink string) (q Queued, ok bool, err error)
	// Done removes the head of sink's queue, if its id is id; failure, when not "", says
	// why it was given up (it is kept in the sink's dead letters).
	Done(ctx context.Context, sink, id, failure string) error
}

// Leaser hands the dispatcher's lease to one process at a time.
type Leaser interface {
	// Lead takes or renews the lease for holder for ttl; it reports whether holder has it.
	Lead(ctx context.Context, holder string, ttl time.Duration) (bool, error)
	// Release gives the lease up if holder has it, so that another process leads at once.
	Release(ctx context.Context, holder string) error
}

var (
	_ DispatchStore = (*MemoryDispatch)(nil)
	_ Leaser        = (*MemoryDispatch)(nil)
)

// MemoryDispatch is a DispatchStore in process, for the embedded default: one dispatcher,
// always the leader. Safe for concurrent use.
type MemoryDispatch struct {
	mu        sync.Mutex
	cursor    uint64
	incidents map[string]incidentState
	queues    map[string][]Queued
	dead      map[string][]DeadLetter
}

// DeadLetter is a notification a sink refused for good.
type DeadLetter struct {
	Queued
	Failure string    `json:"failure"`
	At      time.Time `json:"at"`
}

// Lead implements Leaser.
func (m *MemoryDispatch) Lead(context.Context, string, time.Duration) (bool, error) {
	return true, nil
}

// Release implements Leaser: one process, nothing to give up.
func (m *MemoryDispatch) Release(context.Context, string) error { return nil }

// Load implements DispatchStore.
func (m *MemoryDispatch) Load(ctx context.Context) (uint64, []incidentState, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]incidentState, 0, len(m.incidents))
	for _, in := range m.incidents {
		out = append(out, in)
	}
	return m.cursor, out, nil
}

// Save implements DispatchStore.
func (m *MemoryDispatch) Save(ctx context.Context, c Changes) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidents == nil {
		m.incidents, m.queues = map[string]incidentState{}, map[string][]Queued{}
	}
	m.cursor = c.Cursor
	for _, k := range c.Gone {
		delete(m.incidents, k)
	}
	for k, in := range c.Incidents {
		m.incidents[k] = in
	}
	for sink, qs := range c.Queued {
		m.queues[sink] = append(m.queues[sink], qs...)
	}
	return nil
}

// Head implements DispatchStore.
func (m *MemoryDispatch) Head(ctx context.Context, sink string) (Queued, bool, error) {
	if err := ctx.Err(); err != nil {
		return Queued{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queues[sink]) == 0 {
		return Queued{}, false, nil
	}
	return m.queues[sink][0], true, nil
}

// Done implements DispatchStore.
func (m *MemoryDispatch) Done(ctx context.Context, sink, id, failure string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[sink]
	if len(q) == 0 || q[0].ID != id {
		return nil
	}
	if failure != "" {
		if m.dead == nil {
			m.dead = map[string][]DeadLetter{}
		}
		m.dead[sink] = append(m.dead[sink], DeadLetter{Queued: q[0], Failure: failure,
			At: time.Now()})
	}
	m.queues[sink] = q[1:]
	return nil
}

// Dead returns the notifications sink refused for good, oldest first.
func (m *MemoryDispatch) Dead(_ context.Context, sink string) ([]DeadLetter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]DeadLetter(nil), m.dead[sink]...), nil
}
