package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: extractbench fill|bare|key [flags]")
		os.Exit(2)
	}
	ctx := context.Background()
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	url := fs.String("rpc", "http://127.0.0.1:8545", "node URL")
	blocks := fs.Uint64("blocks", 3000, "fill: blocks to add")
	from := fs.Uint64("from", 1, "bare: first block")
	to := fs.Uint64("to", 0, "bare: last block")
	conc := fs.Int("concurrency", 8, "bare: blocks in flight")
	index := fs.Int("i", 0, "key: which filling key")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "fill":
		err = fill(ctx, *url, *blocks)
	case "key":
		fmt.Println(fillAddress(*index).Hex())
	case "bare":
		var d time.Duration
		d, err = bare(ctx, *url, *from, *to, *conc)
		if err == nil {
			n := *to - *from + 1
			fmt.Printf("%d %.6f %.1f\n", n, d.Seconds(), float64(n)/d.Seconds())
		}
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "extractbench:", err)
		os.Exit(1)
	}
}
