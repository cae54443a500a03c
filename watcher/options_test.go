package watcher

import (
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/watcher/queue"
)

// TestPollerOptionsValidate: each invalid option is refused, naming it; the defaults fill
// what is left out.
func TestPollerOptionsValidate(t *testing.T) {
	var lease PollerLease = (*queue.Redis)(nil) // any lease: only its presence is checked
	tests := []struct {
		name    string
		give    PollerOptions
		wantErr string
	}{
		{"defaults", PollerOptions{Chain: "dev"}, ""},
		{"no chain", PollerOptions{}, "chain: empty"},
		{"lease without holder", PollerOptions{Chain: "dev", Lease: lease},
			"holder: empty"},
		{"lease too short", PollerOptions{Chain: "dev", LeaseTTL: time.Millisecond},
			"lease ttl 1ms: want 10ms or more"},
		{"negative poll interval", PollerOptions{Chain: "dev", PollInterval: -time.Second},
			"poll interval -1s"},
		{"append blocks", PollerOptions{Chain: "dev", AppendBlocks: -1},
			"append blocks -1: want at least 1"},
		{"depth", PollerOptions{Chain: "dev", Depth: 1}, "depth 1: want at least 2"},
		{"depth within confirmations", PollerOptions{Chain: "dev", Depth: 6,
			Confirmations: 6}, "depth 6: want more than confirmations (6)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.give
			o.setDefaults()
			err := o.Validate()
			if tt.wantErr == "" {
				if err != nil || o.LeaseTTL != DefaultPollerLease ||
					o.PollInterval != DefaultPollInterval || o.Depth != DefaultDepth {
					t.Fatalf("%v, options %+v", err, o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestWorkerOptionsValidate: each invalid option is refused, naming it.
func TestWorkerOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    WorkerOptions
		wantErr string
	}{
		{"defaults", WorkerOptions{Name: "w", Chains: []string{"dev"}}, ""},
		{"no name", WorkerOptions{Chains: []string{"dev"}}, "worker name: empty"},
		{"no chains", WorkerOptions{Name: "w"}, "worker chains: empty"},
		{"batch", WorkerOptions{Name: "w", Chains: []string{"dev"}, Batch: -1},
			"worker batch -1: want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWorker(nil, nil, nil, nil, nil, nil, tt.give)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
