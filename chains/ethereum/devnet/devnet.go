package devnet

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/tracers"
	_ "github.com/ethereum/go-ethereum/eth/tracers/native" // registers callTracer
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
)

// Defaults for Options.
const (
	DefaultAccounts = 8
	startAttempts   = 5
)

// DefaultBalance is what each generated account holds at genesis: 1,000,000 ETH.
var DefaultBalance = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))

// Options configure a Chain.
type Options struct {
	// Accounts is how many funded accounts to create; their keys derive from Seed, so the
	// same options give the same addresses.
	Accounts int
	// Seed makes the account keys; empty means "flowwatch-devnet".
	Seed string
	// Alloc adds genesis accounts (contract code at fixed addresses, balances).
	Alloc types.GenesisAlloc
	// Tracers serves the debug API (debug_traceBlockByNumber with callTracer).
	Tracers bool
	// Port is the loopback HTTP port; 0 picks a free one.
	Port int
}

func (o *Options) setDefaults() {
	if o.Accounts == 0 {
		o.Accounts = DefaultAccounts
	}
	if o.Seed == "" {
		o.Seed = "flowwatch-devnet"
	}
}

// Chain is a running development chain.
type Chain struct {
	// URL is the HTTP JSON-RPC endpoint.
	URL string
	// Client talks to the chain in process.
	Client *ethclient.Client
	// Keys are the funded accounts' keys; Addrs their addresses.
	Keys  []*ecdsa.PrivateKey
	Addrs []common.Address
	// ChainID is the chain's id (1337).
	ChainID *big.Int

	mu     sync.Mutex
	commit func() common.Hash
	fork   func(common.Hash) error
	adjust func(time.Duration) error
	close  func() error
}

// Start starts a chain. Close it when done.
func Start(opts Options) (*Chain, error) {
	opts.setDefaults()
	c := &Chain{ChainID: params.AllDevChainProtocolChanges.ChainID}
	alloc := types.GenesisAlloc{}
	for addr, acc := range opts.Alloc {
		alloc[addr] = acc
	}
	for i := range opts.Accounts {
		key := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(fmt.Sprintf("%s/%d", opts.Seed, i))))
		c.Keys = append(c.Keys, key)
		addr := crypto.PubkeyToAddress(key.PublicKey)
		c.Addrs = append(c.Addrs, addr)
		alloc[addr] = types.Account{Balance: DefaultBalance}
	}
	var err error
	for range startAttempts { // a free port can be taken between probe and bind
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		if opts.Tracers {
			err = c.startTracing(alloc, port)
		} else {
			err = c.startSimulated(alloc, port)
		}
		if err == nil || opts.Port != 0 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("start dev chain: %w", err)
	}
	return c, nil
}

func httpConfig(nodeConf *node.Config, port int) {
	nodeConf.HTTPHost = "127.0.0.1"
	nodeConf.HTTPPort = port
	nodeConf.HTTPModules = []string{"eth", "net", "web3", "debug"}
	nodeConf.HTTPVirtualHosts = []string{"*"}
}

// startSimulated runs go-ethereum's simulated backend with HTTP enabled.
func (c *Chain) startSimulated(alloc types.GenesisAlloc, port int) (err error) {
	defer func() { // NewBackend panics when the node cannot start (port taken)
		if r := recover(); r != nil {
			err = fmt.Errorf("simulated backend: %v", r)
		}
	}()
	b := simulated.NewBackend(alloc, func(nodeConf *node.Config, _ *ethconfig.Config) {
		httpConfig(nodeConf, port)
	})
	c.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	client, err := ethclient.Dial(c.URL)
	if err != nil {
		return errors.Join(err, b.Close())
	}
	c.Client = client
	c.commit, c.fork, c.adjust = b.Commit, b.Fork, b.AdjustTime
	c.close = func() error {
		client.Close()
		return b.Close()
	}
	return nil
}

// startTracing assembles the node as the simulated backend does, with the tracers API.
func (c *Chain) startTracing(alloc types.GenesisAlloc, port int) error {
	nodeConf := node.DefaultConfig
	nodeConf.DataDir = ""
	nodeConf.P2P = p2p.Config{NoDiscovery: true}
	httpConfig(&nodeConf, port)
	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{Config: params.AllDevChainProtocolChanges,
		GasLimit: ethconfig.Defaults.Miner.GasCeil, Alloc: alloc}
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true

	stack, err := node.New(&nodeConf)
	if err != nil {
		return err
	}
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		return errors.Join(err, stack.Close())
	}
	stack.RegisterAPIs(tracers.APIs(backend.APIBackend))
	if err := stack.Start(); err != nil {
		return errors.Join(err, stack.Close())
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		return errors.Join(err, stack.Close())
	}
	if err := beacon.Fork(backend.BlockChain().GetCanonicalHash(0)); err != nil {
		return errors.Join(err, stack.Close())
	}
	c.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.Client = ethclient.NewClient(stack.Attach())
	c.commit, c.fork, c.adjust = beacon.Commit, beacon.Fork, beacon.AdjustTime
	c.close = func() error {
		c.Client.Close()
		return errors.Join(beacon.Stop(), stack.Close())
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Commit seals a block with the pending transactions and returns its hash.
func (c *Chain) Commit() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commit()
}

// Fork makes parent the head, so that the next Commit builds a competing branch; once the
// branch is longer than the old one it becomes canonical (a reorg).
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fork(parent)
}

// AdjustTime seals an empty block d later than the head (the pool must be empty): block
// times after it are d further on, as if the chain had been quiet that long.
func (c *Chain) AdjustTime(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The pool drops what the last block mined when it catches up with the head, which
	// geth does asynchronously (see poolLag): until then it looks non-empty.
	deadline := time.Now().Add(poolLag)
	for {
		err := c.adjust(d)
		if err == nil || time.Now().After(deadline) ||
			!strings.Contains(err.Error(), "non-empty block") {
			return err
		}
		time.Sleep(poolLagPoll) // polling a condition with a deadline
	}
}

// Close stops the chain.
func (c *Chain) Close() error { return c.close() }
