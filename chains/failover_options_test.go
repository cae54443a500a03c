package chains

import (
	"strings"
	"testing"
	"time"
)

// TestFailoverOptionsValidate: a failover refuses options that do not fit its endpoints
// (a name for each is required; weights default to 1), naming what is wrong; it prefers
// the heaviest endpoint.
func TestFailoverOptionsValidate(t *testing.T) {
	two := []Source{nil, nil} // never called: only counted
	tests := []struct {
		name    string
		sources []Source
		give    FailoverOptions
		wantErr string
	}{
		{"defaults", two, FailoverOptions{Names: []string{"a", "b"}}, ""},
		{"weighted", two, FailoverOptions{Names: []string{"a", "b"}, Weights: []int{1, 3}}, ""},
		{"no endpoint", nil, FailoverOptions{}, "no endpoint"},
		{"names", two, FailoverOptions{Names: []string{"a"}}, "1 names for 2 endpoints"},
		{"weights", two, FailoverOptions{Names: []string{"a", "b"}, Weights: []int{1, 2, 3}},
			"3 weights for 2 endpoints"},
		{"check every", two, FailoverOptions{Names: []string{"a", "b"},
			CheckEvery: -time.Second},
			"check every -1s: negative"},
		{"weight", two, FailoverOptions{Names: []string{"a", "b"}, Weights: []int{1, 0}},
			"weight 0 of b: want 1 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFailover(tt.sources, tt.give)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.give.Weights; want != nil && int(f.current.Load()) != 1 {
					t.Fatalf("current endpoint %d, want the heaviest (1)", f.current.Load())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
