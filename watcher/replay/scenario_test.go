package replay

import (
	"fmt"
	"math/big"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// The hand-made scenario: a DPRK-style laundering run on Ethereum, with real labelled
// addresses (../shared/data/labels: the Tornado Cash 100 ETH pool, Binance 14) and made-up
// wallets, fixed times and hashes, so that its reports can be golden files.
const (
	scVictim  = "0x1111111111111111111111111111111111111111"
	scLazarus = "0x2222222222222222222222222222222222222222"
	scClean   = "0xc1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
	scDeposit = "0xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
	scTornado = "0xa160cdab225685da1d56aa342ad8841c3b53f291"
	scBinance = "0x28c6c06298d514db089934071355e5743bf21d60"
	scUSDT    = "0xdac17f958d2ee523a2206206994597c13d831ec7"
)

// scFresh is the launderer's fresh wallet i.
func scFresh(i int) string { return fmt.Sprintf("0x%040x", 0xf0+i) }

var scStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// scLists are the scenario's lists: the two labels, and Lazarus designated from the day
// after the theft (so that only a replay as of a later date shows the designation).
func scLists() *watchlist.Lists {
	l := watchlist.New()
	l.AddLabel("ethereum", scTornado, rules.Label{Category: rules.CategoryMixer,
		Entity: "Tornado Cash 100 ETH", List: "tornado-cash"})
	l.AddLabel("ethereum", scBinance, rules.Label{Category: rules.CategoryExchange,
		Entity: "Binance 14", List: "etherscan"})
	l.Add(watchlist.Entry{Chain: "ethereum", Address: scLazarus, Role: watchlist.RoleSource,
		Category: "hack", Entity: "Lazarus Group", ValidFrom: scStart.Add(24 * time.Hour),
		Origin: watchlist.Origin{List: "fbi-2024"}})
	return l
}

func ether(milli int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(milli), big.NewInt(1e15))
}

// scMove is a transfer in block n (its position-th in the block) of amount.
func scMove(n uint64, i int, from, to, asset string, amount *big.Int) chains.Movement {
	kind, pos := chains.KindNative, chains.PositionTx
	if asset != chains.AssetNative {
		kind, pos = chains.KindToken, chains.PositionLog(uint64(i))
	}
	return chains.Movement{Chain: "ethereum", Block: chains.BlockRef{Number: n,
		Hash: fmt.Sprintf("0x%064x", n), ParentHash: fmt.Sprintf("0x%064x", n-1),
		Time: scStart.Add(time.Duration(n-100) * 12 * time.Second)},
		Tx: fmt.Sprintf("0x%062x%02x", n, i), TxIndex: uint(i), Position: pos, Kind: kind,
		Inputs:  []chains.Leg{{Address: from, Asset: asset, Amount: new(big.Int).Set(amount)}},
		Outputs: []chains.Leg{{Address: to, Asset: asset, Amount: new(big.Int).Set(amount)}}}
}

// scenario is the run, block by block from 100 to 112.
func scenario() []chains.Movement {
	eth := chains.AssetNative
	mixer := scMove(102, 0, scFresh(1), scTornado, eth, ether(100_000))
	mixer.Event, mixer.EventContract = chains.EventMixerDeposit, scTornado
	return []chains.Movement{
		scMove(100, 0, scVictim, scLazarus, eth, ether(600_000)),   // the theft
		scMove(101, 0, scLazarus, scFresh(1), eth, ether(120_000)), // fan-out
		scMove(101, 1, scLazarus, scFresh(2), eth, ether(120_000)),
		scMove(101, 2, scLazarus, scFresh(3), eth, ether(120_000)),
		scMove(101, 3, scLazarus, scFresh(4), eth, ether(120_000)),
		mixer, // 100 ETH into Tornado Cash
		scMove(103, 0, scFresh(2), scFresh(5), eth, ether(110_000)), // peel
		// A customer's deposit and its sweep show what the deposit address is.
		scMove(104, 0, scClean, scDeposit, eth, ether(3_000)),
		scMove(105, 0, scDeposit, scBinance, eth, ether(2_999)),
		scMove(106, 0, scFresh(5), scDeposit, eth, ether(105_000)), // cash-out
		scMove(107, 0, scDeposit, scBinance, eth, ether(104_000)),
		scMove(108, 0, scFresh(3), scFresh(4), eth, ether(50_000)), // consolidation
		scMove(109, 0, scClean, scFresh(4), eth, ether(200_000)),   // clean value joins
		scMove(110, 0, scFresh(4), scBinance, eth, ether(300_000)),
		scMove(111, 3, scLazarus, scFresh(6), scUSDT, big.NewInt(1_000_000e6)), // USDT
		// Less than arrived: a deposit address forwards all of a token (deposit.Options).
		scMove(112, 0, scFresh(6), scBinance, scUSDT, big.NewInt(999_000e6)),
	}
}
