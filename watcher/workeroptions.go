package watcher

// What configures a Worker: its options, their defaults and their validation.

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
)

// Defaults for WorkerOptions.
const (
	// DefaultWorkerBatch is in entries, each up to queue.MaxEntryPayloads movements.
	DefaultWorkerBatch = 32
	DefaultReadBlock   = time.Second
	DefaultClaimIdle   = time.Minute
	// DefaultDrainTimeout bounds finishing in-flight entries after shutdown was asked.
	DefaultDrainTimeout = 30 * time.Second
)

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Name is the consumer's name in the group; unique per worker.
	Name   string
	Chains []string
	// Batch is how many entries one read takes (each up to queue.MaxEntryPayloads
	// movements of one block).
	Batch int
	// Block bounds one read's wait.
	Block time.Duration
	// ClaimIdle: a worker silent this long is taken for dead: its ownership of a chain
	// expires and the entries it took without acknowledging them are taken over.
	ClaimIdle time.Duration
	// TaintCache is how many bases (addresses, outpoints) that hold something the worker
	// keeps the state of per chain, once read, while it owns the chain; default
	// DefaultTaintCache, < 0 none past a batch. (Which bases hold anything, it always
	// keeps: a set of 8 to 16 bytes a base.)
	TaintCache int
	// Explorers maps a chain to its explorer's transaction URL prefix.
	Explorers map[string]string
	// Deposits maps an account chain to how its exchange deposit addresses are inferred
	// (package deposit); a chain not named infers none.
	Deposits map[string]deposit.Options
	// FanIn maps a chain to the bounds of what it remembers for fan-in rules (package
	// fanin; the window is the longest of the rules'); a chain not named has the defaults.
	FanIn map[string]fanin.Options
	// LookBack maps an EVM chain to the node its fan-in rules ask for the senders of a
	// pooling address that pays a listed source, over the part of the window that the
	// worker does not remember (fanin.Tracker.SendersBack: tokens by their logs, the coin
	// by traces if the node is a fanin.TraceNode); a chain not named asks none. An error
	// of the node fails the batch, which is judged again.
	LookBack     map[string]fanin.Node
	DrainTimeout time.Duration
	Logger       *zap.Logger
}

func (o *WorkerOptions) setDefaults() {
	if o.Batch == 0 {
		o.Batch = DefaultWorkerBatch
	}
	if o.Block == 0 {
		o.Block = DefaultReadBlock
	}
	if o.ClaimIdle == 0 {
		o.ClaimIdle = DefaultClaimIdle
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.TaintCache == 0 {
		o.TaintCache = DefaultTaintCache
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Validate reports the first invalid option, naming it.
func (o *WorkerOptions) Validate() error {
	switch {
	case o.Name == "":
		return errors.New("worker name: empty")
	case len(o.Chains) == 0:
		return errors.New("worker chains: empty")
	case o.Batch < 1:
		return fmt.Errorf("worker batch %d: want at least 1", o.Batch)
	}
	return nil
}
