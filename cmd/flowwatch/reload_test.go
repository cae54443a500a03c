package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestReloader: SIGHUP and a changed list file reload the lists in use; a reload that fails
// keeps them and says why.
func TestReloader(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "l.csv")
	const head = "chain,address,role,category,entity,source,valid_from,valid_to\n"
	const a1 = "0x28c6c06298d514db089934071355e5743bf21d60"
	const a2 = "0xa160cdab225685da1d56aa342ad8841c3b53f291"
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(head + "ethereum," + a1 + ",source,hack,A,x,,\n")
	cfg := &config.Config{Chains: []config.Chain{{Name: "ethereum", Family: chains.FamilyEVM}},
		Lists: []config.List{{Path: list}}}
	lists, _, err := loadLists(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	live := watchlist.NewLive(lists)
	core, logs := observer.New(zap.InfoLevel)
	hup := make(chan os.Signal, 1)
	r := newReloader(cfg, live, hup, zap.New(core))
	r.poll = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	watched := func(addr string) bool {
		_, ok := live.SourceAt("ethereum", addr, time.Time{})
		return ok
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(2 * time.Millisecond) // polling a condition with a deadline
		}
	}
	if !watched(a1) || watched(a2) {
		t.Fatal("initial lists")
	}
	// A changed file is picked up.
	write(head + "ethereum," + a2 + ",source,hack,B,x,,\n")
	future := time.Now().Add(time.Minute) // a modification time the poll cannot miss
	if err := os.Chtimes(list, future, future); err != nil {
		t.Fatal(err)
	}
	waitFor("the changed file", func() bool { return watched(a2) && !watched(a1) })
	// A file that cannot be read as a list: the lists in use stay, and the log says why.
	write("not,a,list\n")
	hup <- os.Interrupt
	waitFor("the failure logged", func() bool {
		return logs.FilterMessage("lists reload failed; keeping the lists in use").Len() > 0
	})
	if !watched(a2) {
		t.Fatal("a failed reload dropped the lists in use")
	}
	// SIGHUP after a fix reloads.
	write(head + "ethereum," + a1 + ",source,hack,A,x,,\n")
	hup <- os.Interrupt
	waitFor("the reload on SIGHUP", func() bool { return watched(a1) && !watched(a2) })
}
