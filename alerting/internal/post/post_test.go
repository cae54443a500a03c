package post

import (
	"math"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		give   string
		want   time.Duration
		wantOK bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true}, // past: now
		{"", 0, false},
		{"-3", 0, false},
		// Past what a Duration holds: the longest wait, never a wrapped negative one.
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", math.MaxInt64, true},
		{"99999999999999999999999", math.MaxInt64, true},
		{"-99999999999999999999999", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		if got, ok := RetryAfter(tt.give, now); got != tt.want || ok != tt.wantOK {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", tt.give, got, ok, tt.want,
				tt.wantOK)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, h string) {
		if d, ok := RetryAfter(h, time.Now()); ok && d < 0 {
			t.Fatalf("RetryAfter(%q) = %s", h, d)
		}
	})
}
