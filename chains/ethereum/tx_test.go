package ethereum

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

// TestTx looks transactions up on the simulated chain: a mined token transfer has the
// movements its block gives, a pending ETH transfer its own value and says it is partial,
// and a transaction the node never saw is ErrTxNotFound.
func TestTx(t *testing.T) {
	ctx := context.Background()
	c := startChain(t, false)
	s := testSource(t, c.URL, TracesOff)
	ok := wantStatus(t, 1)
	a, b := c.Keys[0], c.Addrs[1]
	token, err := c.Deploy(ctx, a, devnet.Token, "Lazarus Dollar", "LZD", big.NewInt(1e12))
	if err != nil {
		t.Fatal(err)
	}
	r := ok(c.Call(ctx, a, token, devnet.Token, nil, "transfer", b, big.NewInt(5000)))
	h := strings.ToLower(r.TxHash.Hex())

	got, err := s.Tx(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := s.Block(ctx, r.BlockNumber.Uint64())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Mined || got.Partial || got.Block != blk.Ref || len(got.Movements) != 1 {
		t.Fatalf("mined: %+v, want block %+v and one movement", got, blk.Ref)
	}
	if g, w := summary(got.Movements[0]), "log:0 token "+flow(h, lower(c.Addrs[0]), lower(b),
		lower(token), "5000"); g != w {
		t.Errorf("movement %q, want %q", g, w)
	}

	ph, err := c.Submit(ctx, devnet.Tx{Key: c.Keys[2], To: &b, Value: eth(2)})
	if err != nil {
		t.Fatal(err)
	}
	pend, err := s.Tx(ctx, strings.ToLower(ph.Hex()))
	if err != nil {
		t.Fatal(err)
	}
	if pend.Mined || !pend.Partial || len(pend.Movements) != 1 ||
		summary(pend.Movements[0]) != "tx native "+flow(strings.ToLower(ph.Hex()),
			lower(c.Addrs[2]), lower(b), "native", eth(2).String()) {
		t.Fatalf("pending: %+v", pend)
	}
	c.Commit()
	mined, err := s.Tx(ctx, strings.ToLower(ph.Hex()))
	if err != nil || !mined.Mined || mined.Partial || len(mined.Movements) != 1 {
		t.Fatalf("once mined: %+v, %v", mined, err)
	}

	_, err = s.Tx(ctx, strings.ToLower(common.Hash{1}.Hex()))
	if !errors.Is(err, chains.ErrTxNotFound) {
		t.Fatalf("unknown transaction: %v, want ErrTxNotFound", err)
	}
}
