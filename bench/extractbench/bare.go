package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"golang.org/x/sync/errgroup"
)

// bare fetches blocks from..to as extract does (one batch per block with the full block and
// its receipts, conc blocks in flight) but keeps the raw bytes and decodes nothing.
func bare(ctx context.Context, url string, from, to uint64, conc int) (time.Duration, error) {
	c, err := rpc.DialContext(ctx, url)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	var bytes [64]int // per-goroutine-ish sink so the compiler keeps the results
	for n := from; n <= to; n++ {
		g.Go(func() error {
			var block, receipts json.RawMessage
			num := hexutil.EncodeUint64(n)
			batch := []rpc.BatchElem{
				{Method: "eth_getBlockByNumber", Args: []any{num, true}, Result: &block},
				{Method: "eth_getBlockReceipts", Args: []any{num}, Result: &receipts},
			}
			if err := c.BatchCallContext(ctx, batch); err != nil {
				return err
			}
			for _, el := range batch {
				if el.Error != nil {
					return fmt.Errorf("block %d: %w", n, el.Error)
				}
			}
			bytes[n%64] += len(block) + len(receipts)
			return nil
		})
	}
	err = g.Wait()
	return time.Since(start), err
}
