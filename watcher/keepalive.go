package watcher

import (
	"context"
	"time"
)

// keepalive renews the worker's ownership of chain every ClaimIdle/4 until the returned
// stop is called, so that a round longer than the lease (many alerts to deliver) keeps the
// chain. If another worker took the chain meanwhile the renewal fails and the round's taint
// write is fenced (taint.ErrFenced). stop waits for the renewer to end.
func (w *Worker) keepalive(ctx context.Context, chain string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(w.opts.ClaimIdle/4, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if ok, err := w.owner.Own(ctx, chain, w.opts.Name, w.opts.ClaimIdle); err != nil ||
					!ok {
					return // the write will be fenced; Run sorts it out
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
