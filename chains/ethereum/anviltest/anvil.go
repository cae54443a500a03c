package anviltest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/testtool"
)

// AnvilVersion is the npm package version the CI installs.
const AnvilVersion = "1.7.1"

// Node is a running Anvil on loopback that mines each transaction in its own block and
// sends transactions from any address (--auto-impersonate).
type Node struct {
	URL    string
	Client *rpc.Client
	// Funder is Anvil's first dev account, which holds 10,000 ETH.
	Funder common.Address
}

// Binary returns the anvil executable, or "" when there is none.
func Binary() string {
	if p, err := exec.LookPath("anvil"); err == nil {
		return p
	}
	if p := os.Getenv("FLOWWATCH_ANVIL"); p != "" {
		return p
	}
	if dir, err := os.UserCacheDir(); err == nil {
		// The platform package's binary itself: the npm wrapper (.bin/anvil, a node
		// script) would leave it running when killed.
		mods := filepath.Join(dir, "flowwatch", "anvil", "node_modules")
		for _, p := range []string{
			filepath.Join(mods, "@foundry-rs", "anvil-linux-amd64", "bin", "anvil"),
			filepath.Join(mods, "@foundry-rs", "anvil-linux-arm64", "bin", "anvil"),
			filepath.Join(mods, ".bin", "anvil"),
		} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}

// Start starts Anvil for the test and stops it when the test ends.
func Start(t testing.TB) *Node {
	t.Helper()
	exe := Binary()
	if exe == "" {
		testtool.Missing(t, "anvil not found (npm install --prefix ~/.cache/flowwatch/anvil "+
			"@foundry-rs/anvil@"+AnvilVersion+")")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(exe, "--port", strconv.Itoa(port), "--auto-impersonate", "--silent")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // killed with what it starts
	if err := cmd.Start(); err != nil {
		t.Fatalf("start anvil: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	n := &Node{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := rpc.Dial(n.URL)
		if err == nil {
			var accounts []common.Address
			if err = c.Call(&accounts, "eth_accounts"); err == nil && len(accounts) > 0 {
				n.Client, n.Funder = c, accounts[0]
				t.Cleanup(c.Close)
				return n
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("anvil did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling for the node, with a deadline
	}
}

// Send sends a transaction from `from` (to nil creates a contract), waits for it to be
// mined and returns its receipt, failed or not.
func (n *Node) Send(t testing.TB, from common.Address, to *common.Address, value *big.Int,
	data []byte) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx := map[string]any{"from": from, "gas": hexutil.Uint64(1_000_000)}
	if to != nil {
		tx["to"] = *to
	}
	if value != nil {
		tx["value"] = (*hexutil.Big)(value)
	}
	if len(data) > 0 {
		tx["data"] = hexutil.Bytes(data)
	}
	var h common.Hash
	if err := n.Client.CallContext(ctx, &h, "eth_sendTransaction", tx); err != nil {
		t.Fatalf("send from %s: %v", from, err)
	}
	for {
		var raw json.RawMessage
		if err := n.Client.CallContext(ctx, &raw, "eth_getTransactionReceipt", h); err != nil {
			t.Fatal(err)
		}
		if string(raw) != "null" && len(raw) > 0 {
			var r types.Receipt
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			return &r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("transaction %s not mined", h)
		case <-time.After(10 * time.Millisecond): // polling for the receipt, with a deadline
		}
	}
}

// Deploy deploys ct (constructor args packed) from `from` and returns its address.
func (n *Node) Deploy(t testing.TB, from common.Address, ct *devnet.Contract,
	args ...any) common.Address {
	t.Helper()
	data := append([]byte{}, ct.Bin...)
	if len(args) > 0 {
		packed, err := ct.ABI.Pack("", args...)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, packed...)
	}
	r := n.Send(t, from, nil, nil, data)
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("deploy %s failed", ct.Name)
	}
	return r.ContractAddress
}

// Fund sends each of addrs 100 ETH from the funder.
func (n *Node) Fund(t testing.TB, addrs ...common.Address) {
	t.Helper()
	for _, a := range addrs {
		n.Send(t, n.Funder, &a, new(big.Int).Mul(big.NewInt(100), big.NewInt(1e18)), nil)
	}
}

// Addr is a made-up address for the tests, the i-th.
func Addr(i int) common.Address {
	return common.HexToAddress(fmt.Sprintf("0x%040x", 0xa0000+i))
}
