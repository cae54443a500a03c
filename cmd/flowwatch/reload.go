package main

import (
	"context"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// listsPoll is how often run looks for changed list files.
const listsPoll = 10 * time.Second

// reloader reloads a config's lists into live when asked (SIGHUP) or when a list file
// changed; a reload that fails keeps the lists in use and logs why.
type reloader struct {
	cfg   *config.Config
	live  *watchlist.Live
	hup   <-chan os.Signal
	poll  time.Duration
	log   *zap.Logger
	stamp map[string]time.Time // list file -> modification time last loaded
}

func newReloader(cfg *config.Config, live *watchlist.Live, hup <-chan os.Signal,
	log *zap.Logger) *reloader {
	r := &reloader{cfg: cfg, live: live, hup: hup, poll: listsPoll, log: log}
	r.stamp = r.stamps()
	return r
}

func (r *reloader) stamps() map[string]time.Time {
	out := map[string]time.Time{}
	for _, l := range r.cfg.Lists {
		if fi, err := os.Stat(l.Path); err == nil {
			out[l.Path] = fi.ModTime()
		}
	}
	return out
}

func (r *reloader) changed(now map[string]time.Time) bool {
	for p, t := range now {
		if !t.Equal(r.stamp[p]) {
			return true
		}
	}
	return len(now) != len(r.stamp)
}

// Run reloads until ctx ends.
func (r *reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.hup:
			r.reload("SIGHUP")
		case <-t.C:
			if now := r.stamps(); r.changed(now) {
				r.reload("a list file changed")
			}
		}
	}
}

func (r *reloader) reload(why string) {
	stamp := r.stamps() // what is about to be read
	lists, rejected, err := loadLists(r.cfg, nil)
	if err != nil {
		r.log.Error("lists reload failed; keeping the lists in use", zap.String("cause", why),
			zap.Error(err))
		r.stamp = stamp // do not retry the same files every poll; a change or SIGHUP will
		return
	}
	for _, e := range rejected {
		r.log.Warn("list entry rejected", zap.Error(e))
	}
	r.live.Store(lists)
	r.stamp = stamp
	sources, labels := lists.Len()
	r.log.Info("lists reloaded", zap.String("cause", why), zap.Int("sources", sources),
		zap.Int("labels", labels), zap.Int("rejected", len(rejected)))
}
