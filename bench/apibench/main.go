package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/configs"
	"github.com/flowwatch/flowwatch/internal/rediskeys"
	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func main() {
	url := flag.String("redis", "redis://127.0.0.1:6379", "Redis URL")
	tracked := flag.Int("tracked", 1_000_000, "tainted addresses in the store")
	conns := flag.Int("conns", 32, "concurrent keep-alive connections")
	duration := flag.Duration("duration", 10*time.Second, "load time per endpoint")
	hit := flag.Int("hit", 5, "percent of requests for tracked addresses")
	flag.Parse()
	if err := run(*url, *tracked, *conns, *duration, *hit); err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
}

func run(url string, n, conns int, d time.Duration, hit int) error {
	ctx := context.Background()
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "fwapibench-" + hex.EncodeToString(b)
	defer func() { _ = rediskeys.Delete(ctx, rdb, prefix+":*") }()
	memBefore := redisMemory(ctx, rdb)
	store := taint.NewRedis(rdb, prefix)
	rng := mrand.New(mrand.NewPCG(5, 6))
	addr := func() string {
		var a [20]byte
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		return "0x" + hex.EncodeToString(a[:])
	}
	lists, root, err := bundledLists()
	if err != nil {
		return err
	}
	src := rules.Source{Entity: "Lazarus Group", Category: "sanctioned", List: "OFAC SDN"}
	addrs := make([]string, n)
	start := time.Now()
	const batch = 2000
	for i := 0; i < n; i += batch {
		e := taint.Effect{Key: fmt.Sprintf("fill/%d", i)}
		for j := i; j < min(n, i+batch); j++ {
			addrs[j] = addr()
			e.Taints = append(e.Taints, rules.NewTaint{Address: addrs[j], Taint: rules.Taint{
				Root: root, Source: src, Path: []rules.Hop{{Chain: "ethereum", Tx: "0x01",
					Position: "tx", From: root, To: addrs[j], Asset: "native",
					Amount: big.NewInt(1e18), Time: time.Unix(1.7e9, 0)}}}})
		}
		if err := store.ApplyAll(ctx, "ethereum", taint.Fence{}, []taint.Effect{e}); err != nil {
			return err
		}
	}
	memAfter := redisMemory(ctx, rdb)
	fmt.Printf("filled %d tracked addresses in %s; redis memory %.0f bytes per address "+
		"(taint, undo records)\n", n, time.Since(start).Round(time.Second),
		float64(memAfter-memBefore)/float64(n))

	idx := taint.NewIndex(store, []string{"ethereum"}, taint.IndexOptions{})
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	start = time.Now()
	go func() { _ = idx.Run(ictx) }()
	for {
		if _, known := idx.Holds("ethereum", root); known {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := idx.Stats()["ethereum"]
	fmt.Printf("taint index built in %s: %d addresses, %d MB (%.1f bytes per address)\n",
		time.Since(start).Round(100*time.Millisecond), st.Members, st.Bytes>>20,
		float64(st.Bytes)/float64(st.Members))
	const key = "fw_apibench_key"
	serve := func(index bool) (string, func(), error) {
		screen, err := api.NewScreener(map[string]api.Chain{"ethereum": {
			Family: chains.FamilyEVM}}, lists, store, deposit.NewRegistry(nil, ""),
			api.RiskOptions{}, nil)
		if err != nil {
			return "", nil, err
		}
		if index {
			screen.SetIndex(idx)
		}
		srv, err := api.New(screen, nil, api.Options{Keys: []api.Key{{Name: "bench",
			SHA256: api.HashKey(key), Scopes: []string{api.ScopeRead}, Rate: 1e9,
			Burst: 1e9}}})
		if err != nil {
			return "", nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		hs := &http.Server{Handler: srv.Handler()}
		go func() { _ = hs.Serve(ln) }()
		return "http://" + ln.Addr().String(), func() { _ = hs.Close() }, nil
	}
	paths := make([]string, 200_000)
	for i := range paths {
		if rng.IntN(100) < hit {
			paths[i] = "/v1/addresses/ethereum/" + addrs[rng.IntN(n)]
		} else {
			paths[i] = "/v1/addresses/ethereum/" + addr()
		}
	}
	var hz result
	for _, index := range []bool{false, true} {
		base, stop, err := serve(index)
		if err != nil {
			return err
		}
		scr := load(key, conns, d, func(i int) string { return base + paths[i%len(paths)] })
		if !index {
			hz = load(key, conns, d, func(int) string { return base + "/healthz" })
			fmt.Printf("GET /healthz (baseline): %.0f req/s, p50 %s, p99 %s\n", hz.rate,
				hz.p50, hz.p99)
		}
		stop()
		what := "Redis for every address"
		if index {
			what = "the taint index, Redis for tracked addresses"
		}
		fmt.Printf("GET /v1/addresses (%s): %.0f req/s, p50 %s, p99 %s (%d errors); "+
			"over baseline: throughput %.2f, p99 %.1fx\n", what, scr.rate, scr.p50, scr.p99,
			scr.errors, scr.rate/hz.rate, float64(scr.p99)/float64(hz.p99))
	}
	fmt.Printf("process resident memory: %s\n", rss())
	return nil
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	errors   int
}

// load runs conns clients against url(i) for d and measures them.
func load(key string, conns int, d time.Duration, url func(int) string) result {
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			var mine []time.Duration
			bad := 0
			for i := c; time.Now().Before(deadline); i += conns {
				req, _ := http.NewRequest("GET", url(i), nil)
				req.Header.Set("Authorization", "Bearer "+key)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad++
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat, errors = append(lat, mine...), errors+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		return result{errors: errors}
	}
	return result{rate: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2],
		p99: lat[len(lat)*99/100], errors: errors}
}

// bundledLists are the bundled Ethereum lists, and an OFAC-listed address for a root.
func bundledLists() (*watchlist.Lists, string, error) {
	l := watchlist.New()
	f, err := configs.Lists.Open("lists/ofac-ethereum.csv")
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	entries, _, err := watchlist.ReadFile("ofac-ethereum.csv", f,
		func(c string) (chains.Family, string, bool) {
			return chains.FamilyEVM, "", c == "ethereum"
		})
	if err != nil || len(entries) == 0 {
		return nil, "", fmt.Errorf("bundled lists: %v", err)
	}
	l.Add(entries...)
	return l, entries[0].Address, nil
}

func redisMemory(ctx context.Context, rdb *redis.Client) int64 {
	info, _ := rdb.Info(ctx, "memory").Result()
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

func rss() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
