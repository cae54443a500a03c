package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

const demoBitcoinChain = "bitcoin"

// btcScenario is the demo's Bitcoin leg, modelled on Andariel's ransomware: a ransom paid
// to an attributed address, peeled through fresh addresses (each hop sends a slice off and
// the rest on), and deposited at an exchange. It runs on a real btcd in simnet.
type btcScenario struct {
	node                *simnet.Node
	dir                 string // the node's certificate for the source
	watched, hop1, hop2 simnet.Key
	peel1, peel2, exch  simnet.Key
	labels              map[string]string
}

// startBitcoinLeg starts btcd in simnet, with extra flags, if a btcd binary is at hand. s
// is nil, with the reason, when it is not.
func startBitcoinLeg(extra ...string) (s *btcScenario, why string, err error) {
	exe, found := simnet.CachedBtcd()
	if !found {
		return nil, "btcd not found on PATH nor built by the tests (go install " +
			"github.com/btcsuite/btcd@" + simnet.BtcdVersion + ", or run make test once)", nil
	}
	node, err := simnet.Launch(exe, true, extra...)
	if err != nil {
		return nil, "", fmt.Errorf("start btcd: %w", err)
	}
	s = &btcScenario{node: node, labels: map[string]string{}}
	keys := []*simnet.Key{&s.watched, &s.hop1, &s.hop2, &s.peel1, &s.peel2, &s.exch}
	names := []string{"Andariel ransom address (stand-in)", "fresh address 1",
		"fresh address 2", "peel 1", "peel 2", "exchange deposit (stand-in)"}
	for i, k := range keys {
		if *k, err = simnet.NewKey(); err != nil {
			s.close()
			return nil, "", err
		}
		s.labels[k.Addr.EncodeAddress()] = names[i]
	}
	if s.dir, err = os.MkdirTemp("", "flowwatch-demo-btc"); err == nil {
		err = os.WriteFile(filepath.Join(s.dir, "rpc.cert"), node.Certificates(), 0o600)
	}
	if err != nil {
		s.close()
		return nil, "", err
	}
	return s, "", nil
}

func (s *btcScenario) close() {
	_ = s.node.Close()
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// configure adds the chain, its watched address and its exchange label.
func (s *btcScenario) configure(cfg *config.Config, lists *watchlist.Lists) error {
	_, height, err := s.node.Client.GetBestBlock()
	if err != nil {
		return err
	}
	zero := uint64(0)
	cfg.Chains = append(cfg.Chains, config.Chain{Name: demoBitcoinChain,
		Family: chains.FamilyBitcoin, Network: "simnet", RPC: []string{s.node.URL()},
		CACert: filepath.Join(s.dir, "rpc.cert"), Confirmations: &zero,
		StartBlock: uint64(height) + 1, PollInterval: demoPollInterval})
	lists.AddSource(demoBitcoinChain, s.watched.Addr.EncodeAddress(), rules.Source{
		Entity: "Andariel (demo stand-in)", Category: "ransomware", List: "demo"})
	lists.AddLabel(demoBitcoinChain, s.exch.Addr.EncodeAddress(), rules.Label{
		Entity: "Exchange (demo stand-in)", Category: "exchange", List: "demo"})
	return nil
}

// play pays the ransom and launders it, one block per step.
func (s *btcScenario) play(ctx context.Context) error {
	const btc = btcutil.SatoshiPerBitcoin
	script, err := txscript.PayToAddrScript(s.watched.Addr)
	if err != nil {
		return err
	}
	ransom, err := s.node.SendOutputsWithoutChange([]*wire.TxOut{wire.NewTxOut(5*btc, script)},
		btcutil.Amount(10))
	if err != nil {
		return fmt.Errorf("pay the ransom: %w", err)
	}
	steps := []struct {
		from  simnet.Key
		value int64
		pays  []simnet.Pay
	}{
		{s.watched, 5 * btc, []simnet.Pay{{To: s.hop1.Addr, Amount: 4 * btc},
			{To: s.peel1.Addr, Amount: 99 * btc / 100}}},
		{s.hop1, 4 * btc, []simnet.Pay{{To: s.hop2.Addr, Amount: 3 * btc},
			{To: s.peel2.Addr, Amount: 99 * btc / 100}}},
		{s.hop2, 3 * btc, []simnet.Pay{{To: s.exch.Addr, Amount: 2999 * btc / 1000}}},
	}
	if err := s.mine(); err != nil {
		return err
	}
	prev := ransom
	for _, st := range steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if prev, err = s.node.Spend(st.from, prev, 0, st.value, st.pays...); err != nil {
			return err
		}
		if err := s.mine(); err != nil {
			return err
		}
	}
	return nil
}

func (s *btcScenario) mine() error {
	_, err := s.node.Client.Generate(1)
	return err
}

func (s *btcScenario) label(a string) string {
	if l, ok := s.labels[a]; ok {
		return l
	}
	return ""
}
