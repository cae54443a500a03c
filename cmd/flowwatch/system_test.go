package main

import "testing"

func TestEndpointName(t *testing.T) {
	tests := []struct {
		name string
		i    int
		give string
		want string
	}{
		{"key in path", 0, "https://mainnet.infura.io/v3/0123456789abcdef", "rpc[0] mainnet.infura.io"},
		{"key in query and password", 1, "https://u:secret@rpc.example:8545/?apikey=k",
			"rpc[1] rpc.example:8545"},
		{"unparsable", 2, "http://[::1", "rpc[2] ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endpointName(tt.i, tt.give); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
