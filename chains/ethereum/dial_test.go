package ethereum

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
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

// TestDialChainID: a node of the configured chain id is accepted; one of another chain is
// refused, naming both ids; the answer survives a transient fault.
func TestDialChainID(t *testing.T) {
	c := startChain(t, false)
	ctx := context.Background()
	id := c.ChainID.Uint64()
	s, err := Dial(ctx, c.URL, Options{ChainID: id, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Dial(ctx, c.URL, Options{ChainID: 1, Logger: zaptest.NewLogger(t)})
	if !errors.Is(err, ErrWrongChain) || !strings.Contains(err.Error(),
		fmt.Sprintf("chain id %d, want 1", id)) {
		t.Fatalf("wrong chain: %v", err)
	}
	node := newFixtureNode()
	node.chainID = 5
	srv := fakerpc.New(t, node.handle)
	srv.Inject(fakerpc.Status(429, 1), fakerpc.Truncate())
	s, err = Dial(ctx, srv.URL, Options{ChainID: 5, MinBackoff: time.Millisecond,
		MaxBackoff: 2 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("after faults: %v", err)
	}
	s.Close()
}
