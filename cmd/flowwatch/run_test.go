package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name       string
		give       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", give: nil, wantCode: exitUsage, wantStderr: "Usage: flowwatch"},
		{name: "help", give: []string{"--help"}, wantCode: exitOK, wantStdout: "extract"},
		{name: "unknown command", give: []string{"frobnicate"}, wantCode: exitUsage,
			wantStderr: `unknown command "frobnicate"`},
		{name: "version", give: []string{"version"}, wantCode: exitOK,
			wantStdout: "flowwatch dev"},
		{name: "version help", give: []string{"version", "--help"}, wantCode: exitOK,
			wantStdout: "Usage: flowwatch version"},
		{name: "extract help", give: []string{"extract", "-h"}, wantCode: exitOK,
			wantStdout: "--traces auto|on|off"},
		{name: "extract bad flag", give: []string{"extract", "--bogus"}, wantCode: exitUsage,
			wantStderr: "flag provided but not defined: -bogus"},
		{name: "extract without rpc", give: []string{"extract", "--from", "1"},
			wantCode: exitUsage, wantStderr: "--rpc is required"},
		{name: "extract without from", give: []string{"extract", "--rpc", "http://x"},
			wantCode: exitUsage, wantStderr: "--from is required"},
		{name: "extract backwards", give: []string{"extract", "--rpc", "http://x", "--from",
			"5", "--to", "4"}, wantCode: exitUsage, wantStderr: "--to 4 is before --from 5"},
		{name: "extract bad to", give: []string{"extract", "--rpc", "http://x", "--from",
			"5", "--to", "latest"}, wantCode: exitUsage, wantStderr: `--to "latest"`},
		{name: "extract bad traces", give: []string{"extract", "--rpc", "http://x", "--from",
			"1", "--traces", "maybe"}, wantCode: exitUsage, wantStderr: `traces "maybe"`},
		{name: "extract bad chain", give: []string{"extract", "--rpc", "http://x", "--from",
			"1", "--chain", "Eth Main"}, wantCode: exitUsage, wantStderr: `--chain "Eth Main"`},
		{name: "extract stray argument", give: []string{"extract", "--rpc", "http://x",
			"--from", "1", "extra"}, wantCode: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "extract unreachable node", give: []string{"extract", "--rpc",
			"http://127.0.0.1:1", "--from", "1", "--to", "1", "--retries", "0"},
			wantCode: exitError, wantStderr: "flowwatch extract: block 1:"},
		{name: "extract bad url", give: []string{"extract", "--rpc", "ftp://node", "--from",
			"1", "--to", "1"}, wantCode: exitError, wantStderr: "flowwatch extract: dial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.give, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantCode == exitError && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("want one line on stderr, got %q", stderr.String())
			}
		})
	}
}
