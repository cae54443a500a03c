package bitcoin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
)

// BenchmarkExtractSimnet measures, against a real btcd in simnet holding a few thousand
// payments (BENCH_BTC_TXS, default 3000, each to 4 fresh outputs), extraction of the
// blocks (chains.Stream over the source: getblock, prevouts resolved through the output
// cache and getrawtransaction, decoding) beside a bare fetch of the same blocks
// (getblockhash and getblock verbosity 2, the same concurrency, no decoding), in the same
// run, and reports blocks/s, inputs/s and the ratio extract/bare. bench/bitcoin.sh runs it.
func BenchmarkExtractSimnet(b *testing.B) {
	ctx := context.Background()
	node := simnet.Start(b)
	txs := 3000
	if s := os.Getenv("BENCH_BTC_TXS"); s != "" {
		txs, _ = strconv.Atoi(s)
	}
	start, end, inputs := fillSimnet(b, node, txs)
	src, err := Dial(ctx, node.URL(), Options{Network: "simnet",
		Certificates: node.Certificates()})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	c, _ := src.rpc.(*client)
	const conc = 8
	blocks := float64(end - start + 1)
	b.ResetTimer()
	var bare, extract time.Duration
	for range b.N {
		t0 := time.Now()
		if err := bareFetch(ctx, c, start, end, conc); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		src.mu.Lock()
		clear(src.outputs) // every round starts cold
		src.mu.Unlock()
		n := 0
		if err := chains.Stream(ctx, src, start, end, conc, func(blk *chains.Block) error {
			for _, m := range blk.Movements {
				n += len(m.Inputs)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != inputs {
			b.Fatalf("%d inputs extracted, %d made", n, inputs)
		}
		bare, extract = bare+t1.Sub(t0), extract+time.Since(t1)
	}
	b.ReportMetric(blocks*float64(b.N)/bare.Seconds(), "bare_blocks/s")
	b.ReportMetric(blocks*float64(b.N)/extract.Seconds(), "extract_blocks/s")
	b.ReportMetric(float64(inputs)*float64(b.N)/extract.Seconds(), "extract_inputs/s")
	b.ReportMetric(bare.Seconds()/extract.Seconds(), "ratio")
}

// fillSimnet mines payments into blocks and returns the range and how many inputs it
// holds (coinbases included).
func fillSimnet(b *testing.B, node *simnet.Node, txs int) (start, end uint64, inputs int) {
	b.Helper()
	_, h, err := node.Client.GetBestBlock()
	if err != nil {
		b.Fatal(err)
	}
	start = uint64(h) + 1
	for sent := 0; sent < txs; {
		for i := 0; i < 20 && sent < txs; i++ {
			var outs []*wire.TxOut
			for range 4 {
				a, err := node.NewAddress()
				if err != nil {
					b.Fatal(err)
				}
				script, err := txscript.PayToAddrScript(a)
				if err != nil {
					b.Fatal(err)
				}
				outs = append(outs, wire.NewTxOut(100_000, script))
			}
			if _, err := node.SendOutputs(outs, btcutil.Amount(10)); err != nil {
				break // the wallet's spendable outputs are locked until the next block
			}
			sent++
		}
		if _, err := node.Client.Generate(1); err != nil {
			b.Fatal(err)
		}
	}
	_, h, err = node.Client.GetBestBlock()
	if err != nil {
		b.Fatal(err)
	}
	end = uint64(h)
	for n := start; n <= end; n++ {
		hash, err := node.Client.GetBlockHash(int64(n))
		if err != nil {
			b.Fatal(err)
		}
		blk, err := node.Client.GetBlock(hash)
		if err != nil {
			b.Fatal(err)
		}
		for _, tx := range blk.Transactions {
			inputs += len(tx.TxIn)
		}
	}
	return start, end, inputs
}

// bareFetch gets the blocks' hashes and verbose bodies, conc at a time, without decoding.
func bareFetch(ctx context.Context, c *client, from, to uint64, conc int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for n := from; n <= to; n++ {
		g.Go(func() error {
			raw, err := c.Call(ctx, "getblockhash", n)
			if err != nil {
				return err
			}
			var h string
			if err := json.Unmarshal(raw, &h); err != nil {
				return fmt.Errorf("block %d: %w", n, err)
			}
			_, err = c.Call(ctx, "getblock", h, 2)
			return err
		})
	}
	return g.Wait()
}
