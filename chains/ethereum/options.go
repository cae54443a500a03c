package ethereum

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// TraceMode says whether the source asks the node for call traces.
type TraceMode string

// Trace modes.
const (
	// TracesAuto uses debug_traceBlockByNumber where the node has it, and otherwise says so
	// once and carries on without internal transfers.
	TracesAuto TraceMode = "auto"
	// TracesOn requires traces: a node without them is an error.
	TracesOn TraceMode = "on"
	// TracesOff never asks for traces.
	TracesOff TraceMode = "off"
)

// ParseTraceMode parses "auto", "on" or "off".
func ParseTraceMode(s string) (TraceMode, error) {
	switch m := TraceMode(s); m {
	case TracesAuto, TracesOn, TracesOff:
		return m, nil
	}
	return "", fmt.Errorf("traces %q: want auto, on or off", s)
}

// Defaults for Options.
const (
	DefaultChain      = "ethereum"
	DefaultBatchSize  = 100
	DefaultRetries    = 6
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 15 * time.Second
	DefaultTimeout    = 60 * time.Second
	DefaultTraceTime  = "30s"
)

// Options configure a Source.
type Options struct {
	// Chain names the chain in the movements ("ethereum", "arbitrum", ...).
	Chain string
	// Traces selects internal transfers from debug_traceBlockByNumber; default auto.
	Traces TraceMode
	// BatchSize caps the calls in one JSON-RPC batch (receipt fallback).
	BatchSize int
	// Retries is how many times a failed fetch is tried again before giving up; 0 means
	// DefaultRetries and a negative number means never.
	Retries int
	// MinBackoff and MaxBackoff bound the exponential backoff between tries; each wait
	// is drawn uniformly from [backoff/2, backoff] (jitter).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one JSON-RPC request (one try).
	Timeout time.Duration
	// ChainID, when not 0, is the EIP-155 chain id the node must answer eth_chainId with:
	// Dial refuses a node of another chain (a mainnet URL where a testnet was meant, or a
	// provider's URL of the wrong network).
	ChainID uint64
	// Logger receives the source's few log lines; nil means no logging.
	Logger *zap.Logger
}

func (o *Options) setDefaults() {
	if o.Chain == "" {
		o.Chain = DefaultChain
	}
	if o.Traces == "" {
		o.Traces = TracesAuto
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Validate reports the first invalid option, naming it.
func (o *Options) Validate() error {
	if _, err := ParseTraceMode(string(o.Traces)); err != nil {
		return err
	}
	switch {
	case o.BatchSize < 1:
		return fmt.Errorf("batch size %d: want at least 1", o.BatchSize)
	case o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff:
		return fmt.Errorf("backoff %v..%v: want 0 <= min <= max", o.MinBackoff, o.MaxBackoff)
	case o.Timeout < 0:
		return fmt.Errorf("timeout %v: want positive", o.Timeout)
	}
	return nil
}
