package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReplicas runs three `flowwatch run` processes on one chain and one Redis while
// laundering flows are played: one holds the chain's poller lease and publishes; it is
// killed (SIGKILL), and another takes over within the lease's time; that one is killed
// too, and the last takes over. Every movement is in the stream exactly once and every
// expected alert reaches the receiver in exactly one notification.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	const lease = 500 * time.Millisecond
	w := newLaunderWorld(t, launderOptions{lease: lease})
	procs := map[int]*exec.Cmd{}
	for range 3 {
		cmd, _ := startRun(t, w.cfg, "running")
		procs[cmd.Process.Pid] = cmd
	}
	defer func() {
		for _, cmd := range procs {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	stopSending := w.traffic(t, nil)
	leaseKey := w.prefix + ":{dev}:poller"
	// leader returns the pid of the process holding the lease (0: none).
	leader := func() int {
		holder, _ := w.rdb.Get(ctx, leaseKey).Result()
		i := strings.LastIndexByte(holder, '-')
		pid, _ := strconv.Atoi(holder[i+1:])
		if _, ours := procs[pid]; !ours {
			return 0
		}
		return pid
	}
	tipNow := func() string {
		return w.rdb.HGet(ctx, w.prefix+":{dev}:tip", "number").Val()
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %s", what, limit)
			}
			time.Sleep(2 * time.Millisecond) // polling a condition with a deadline
		}
		return time.Since(start)
	}
	var takeovers []time.Duration
	for round := range 2 {
		first := 0
		waitFor("a leader", 30*time.Second, func() bool { first = leader(); return first != 0 })
		before := tipNow()
		waitFor("the leader publishing", 30*time.Second, func() bool {
			return tipNow() != before
		})
		cmd := procs[first]
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		killed := time.Now()
		delete(procs, first)
		// The lease outlives its dead holder by at most its time; a standby checks every
		// poll interval (20 ms) at most.
		next := 0
		waitFor(fmt.Sprintf("round %d: a new leader", round), lease+2*time.Second,
			func() bool { next = leader(); return next != 0 && next != first })
		takeovers = append(takeovers, time.Since(killed))
		before = tipNow()
		waitFor("the new leader publishing", 30*time.Second, func() bool {
			return tipNow() != before
		})
	}
	wantAlerts := stopSending()
	var last *exec.Cmd
	for pid, cmd := range procs {
		last = cmd
		delete(procs, pid)
	}
	head, res := w.settle(t, last, false, w.recv.atLeast(wantAlerts))
	repeats := w.checkDeliveries(t, wantAlerts)
	t.Logf("3 processes, the publishing one killed twice: taken over after %v (lease %v); "+
		"%d movements up to block %d, each once in the stream; %d alerts, each in one "+
		"notification (%d repeated deliveries)", takeovers, lease, res.Published, head,
		wantAlerts, repeats)
}
