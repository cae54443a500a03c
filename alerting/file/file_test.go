package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
)

func readAlerts(t *testing.T, b []byte) []alerting.Alert {
	t.Helper()
	var out []alerting.Alert
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a alerting.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return out
}

func TestSinkSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		path := filepath.Join(t.TempDir(), "alerts.jsonl")
		s, err := New(Config{Path: path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return sinktest.Harness{Sink: s, Delivered: func() []alerting.Alert {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return readAlerts(t, b)
		}}
	})
}

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(Config{Path: "-"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Notify(context.Background(), sinktest.Alerts(2)...); err != nil {
		t.Fatal(err)
	}
	if got := readAlerts(t, buf.Bytes()); len(got) != 2 {
		t.Fatalf("%d lines", len(got))
	}
}

// TestRotation: past max_size the file moves to .1 (and .1 to .2, ...), keeping max_files;
// each notification's lines stay in one file, and nothing is lost but the oldest files.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	one := sinktest.Alerts(1)
	line, _ := json.Marshal(&one[0])
	s, err := New(Config{Path: path, MaxSize: int64(3*len(line) + 10), MaxFiles: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 10 { // 10 notifications of 1 alert: 3 per file
		if _, err := s.Notify(context.Background(), one...); err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string) int {
		b, err := os.ReadFile(name)
		if err != nil {
			return -1
		}
		return strings.Count(string(b), "\n")
	}
	if c0, c1, c2, c3 := count(path), count(path+".1"), count(path+".2"),
		count(path+".3"); c0 != 1 || c1 != 3 || c2 != 3 || c3 != -1 {
		t.Fatalf("lines per file: %d %d %d %d; want 1 3 3 and no .3", c0, c1, c2, c3)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		give    Config
		wantErr string
	}{
		{"stdout", Config{Path: "-"}, ""},
		{"no path", Config{}, "path: empty"},
		{"negative size", Config{Path: "x", MaxSize: -1}, "max_size"},
		{"a directory that is not there", Config{Path: "/nonexistent/dir/a.jsonl"}, "open"},
	}
	for _, tt := range tests {
		_, err := New(tt.give, nil)
		if (err == nil) != (tt.wantErr == "") || err != nil &&
			!strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
