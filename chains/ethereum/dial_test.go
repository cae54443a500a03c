package ethereum

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/rpc"
)

func mustDial(t *testing.T, url string) *rpc.Client {
	t.Helper()
	c, err := rpc.DialContext(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
