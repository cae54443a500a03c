package simnet

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/integration/rpctest"
)

// BtcdVersion is the btcd the harness runs: the version of the btcd module in go.mod.
const BtcdVersion = "v0.26.2"

var (
	buildOnce sync.Once
	btcdPath  string
	buildErr  error
)

// Btcd returns the path of the btcd binary, building it the first time.
func Btcd(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "flowwatch", "btcd-"+BtcdVersion)
		btcdPath = filepath.Join(dir, "btcd")
		if _, err := os.Stat(btcdPath); err == nil {
			return
		}
		// Build into a directory of our own and rename: concurrent test binaries may race.
		err = os.MkdirAll(dir, 0o755)
		var tmp string
		if err == nil {
			tmp, err = os.MkdirTemp(filepath.Dir(dir), "build-")
		}
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "install", "github.com/btcsuite/btcd@"+BtcdVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build btcd %s: %v\n%s", BtcdVersion, err, out)
			return
		}
		buildErr = os.Rename(filepath.Join(tmp, "btcd"), btcdPath)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return btcdPath
}

// CachedBtcd returns the btcd binary that Btcd builds, or one on PATH, if there is one:
// for programs (the demo) that use btcd when it is there and say so when it is not.
func CachedBtcd() (string, bool) {
	if cache, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(cache, "flowwatch", "btcd-"+BtcdVersion, "btcd")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	p, err := exec.LookPath("btcd")
	return p, err == nil
}

// Node is a running btcd in simnet with a transaction index.
type Node struct {
	*rpctest.Harness
}

// Start starts a node for the test (stopped at its end) with 25 mature outputs to spend.
func Start(t testing.TB, extraArgs ...string) *Node {
	t.Helper()
	return start(t, true, extraArgs)
}

// StartPeer starts a node with no chain of its own beyond genesis, to connect to another
// (a node with its own test chain would never agree with it: equal work, other tips).
func StartPeer(t testing.TB, extraArgs ...string) *Node {
	t.Helper()
	return start(t, false, extraArgs)
}

func start(t testing.TB, chain bool, extraArgs []string) *Node {
	t.Helper()
	n, err := Launch(Btcd(t), chain, extraArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// Launch starts a node from the btcd binary exe; with chain, its wallet gets 25 mature
// outputs to spend. Close stops it.
func Launch(exe string, chain bool, extraArgs ...string) (*Node, error) {
	h, err := rpctest.New(&chaincfg.SimNetParams, nil,
		append([]string{"--txindex"}, extraArgs...), exe)
	if err != nil {
		return nil, err
	}
	mature := uint32(0)
	if chain {
		mature = 25
	}
	if err := h.SetUp(chain, mature); err != nil {
		_ = h.TearDown()
		return nil, err
	}
	return &Node{Harness: h}, nil
}

// Close stops the node and removes its files.
func (n *Node) Close() error { return n.TearDown() }

// URL is the node's RPC endpoint with its credentials, for the Bitcoin source.
func (n *Node) URL() string {
	c := n.RPCConfig()
	u := url.URL{Scheme: "https", User: url.UserPassword(c.User, c.Pass), Host: c.Host}
	return u.String()
}

// Certificates is the node's self-signed RPC certificate (PEM), for the source's Options.
func (n *Node) Certificates() []byte { return n.RPCConfig().Certificates }
