package ethereum

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains"
)

func TestEventTopics(t *testing.T) {
	for sig, topic := range map[string]string{
		"Deposit(bytes32,uint32,uint256)":                                           tornadoDepositTopic,
		"LogAnySwapOut(address,address,address,uint256,uint256,uint256)":            anySwapOutTopic,
		"TokenDeposit(address,uint256,address,uint256)":                             synapseDepositTopic,
		"TransferSentToL2(uint256,address,uint256,uint256,uint256,address,uint256)": hopSentToL2Topic,
		"V3FundsDeposited(address,address,uint256,uint256,uint256,uint32,uint32,uint32,uint32," +
			"address,address,address,bytes)": acrossV3Topic,
	} {
		if got := "0x" + hex.EncodeToString(crypto.Keccak256([]byte(sig))); got != topic {
			t.Errorf("%s: topic %s, want %s", sig, topic, got)
		}
	}
}

// words builds log data from 32-byte words given as hex (left-padded) or decimal.
func words(ws ...string) data {
	var out []byte
	for _, w := range ws {
		var b []byte
		if strings.HasPrefix(w, "0x") {
			b, _ = hex.DecodeString(strings.Repeat("0", 64-len(w[2:])) + w[2:])
		} else {
			n, _ := new(big.Int).SetString(w, 10)
			b = n.FillBytes(make([]byte, 32))
		}
		out = append(out, b...)
	}
	return out
}

func topic(w string) hash { return hash("0x" + hex.EncodeToString(words(w))) }

const (
	user   = "0x00000000000000000000000000000000000000aa"
	router = "0x00000000000000000000000000000000000000bb"
	usdc   = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
)

// tornadoSample is the first recorded deposit into Tornado Cash's 100 USDC pool
// (../shared/data/labels/mixers/tornado-cash/event-samples), as the node logs it.
func tornadoSample(t *testing.T) rpcLog {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixturesDir(t), "..", "data", "labels", "mixers",
		"tornado-cash", "event-samples", "ethereum_deposits_usdc_100.json"))
	if err != nil {
		t.Fatal(err)
	}
	var samples []struct {
		Commitment string `json:"commitment"`
		LeafIndex  uint32 `json:"leafIndex"`
		Timestamp  string `json:"timestamp"`
	}
	if err := json.Unmarshal(raw, &samples); err != nil || len(samples) == 0 {
		t.Fatalf("samples: %v", err)
	}
	s := samples[0]
	idx := quantity(3)
	return rpcLog{Address: "0xd96f2b1c14db8458374d9aca76e26c3d18364307",
		Topics: []hash{tornadoDepositTopic, hash(s.Commitment)},
		Data:   words(fmt.Sprint(s.LeafIndex), s.Timestamp), LogIndex: &idx}
}

func TestRecognize(t *testing.T) {
	tornado := tornadoSample(t)
	tests := []struct {
		name string
		give rpcLog
		want string // "event to-chain depositor asset amount"; "" not recognized
	}{
		{name: "tornado deposit (recorded)", give: tornado, want: "mixer_deposit    <nil>"},
		{name: "tornado topic, a third topic", give: rpcLog{Topics: append(tornado.Topics,
			tornado.Topics[1]), Data: tornado.Data}},
		{name: "tornado topic, short data", give: rpcLog{Topics: tornado.Topics,
			Data: tornado.Data[:32]}},
		{name: "multichain", give: rpcLog{Topics: []hash{anySwapOutTopic, topic(usdc),
			topic(user), topic(user)}, Data: words("5000000", "1", "56")},
			want: "bridge_deposit 56 " + user + " " + usdc + " 5000000"},
		{name: "multichain, a topic not an address", give: rpcLog{Topics: []hash{
			anySwapOutTopic, topic("0x" + strings.Repeat("f", 64)), topic(user), topic(user)},
			Data: words("5000000", "1", "56")}},
		{name: "synapse", give: rpcLog{Topics: []hash{synapseDepositTopic, topic(user)},
			Data: words("42161", usdc, "7000000")},
			want: "bridge_deposit 42161  " + usdc + " 7000000"},
		{name: "synapse, token not an address", give: rpcLog{Topics: []hash{
			synapseDepositTopic, topic(user)}, Data: words("42161", "0x"+strings.Repeat("1", 64),
			"7")}},
		{name: "hop", give: rpcLog{Topics: []hash{hopSentToL2Topic, topic("10"), topic(user),
			topic(router)}, Data: words("3000", "2900", "99", "5")},
			want: "bridge_deposit 10   3000"},
		{name: "across v3", give: rpcLog{Topics: []hash{acrossV3Topic, topic("8453"),
			topic("77"), topic(user)}, Data: words(usdc, usdc, "1000", "990", "1", "2", "3",
			user, "0x0", "0x180", "0")},
			want: "bridge_deposit 8453 " + user + " " + usdc + " 1000"},
		{name: "a transfer", give: rpcLog{Topics: []hash{TransferTopic, topic(user),
			topic(router)}, Data: words("1")}},
		{name: "no topics", give: rpcLog{Data: words("1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, ok := recognize(&tt.give)
			got := ""
			if ok {
				got = fmt.Sprintf("%s %s %s %s %v", rec.event, rec.toChain, rec.depositor,
					rec.asset, rec.amount)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAppendEvents checks which movement carries a recognized deposit: the depositor's own
// value movement into the contract, else into a router, else a KindEvent movement.
func TestAppendEvents(t *testing.T) {
	pool := "0xd96f2b1c14db8458374d9aca76e26c3d18364307"
	base := chains.Movement{Chain: "ethereum", Tx: "0xt"}
	tornado := tornadoSample(t)
	hop := rpcLog{Address: router, Topics: []hash{hopSentToL2Topic, topic("10"),
		topic(user), topic(router)}, Data: words("3000", "2900", "99", "5"),
		LogIndex: tornado.LogIndex}
	native := func(to string, v int64) chains.Movement {
		return transfer(base, chains.PositionTx, chains.KindNative, user, to,
			chains.AssetNative, big.NewInt(v))
	}
	token := func(from, to string, v int64) chains.Movement {
		return transfer(base, chains.PositionLog(1), chains.KindToken, from, to, usdc,
			big.NewInt(v))
	}
	tests := []struct {
		name  string
		value int64
		give  []chains.Movement
		logs  []rpcLog
		want  []string // per movement "kind from->to amount event contract to-chain"
	}{
		{name: "token straight into the pool", logs: []rpcLog{tornado},
			give: []chains.Movement{token(user, pool, 100)},
			want: []string{"token " + user + "->" + pool + " 100 mixer_deposit " + pool + " "}},
		{name: "ether through a router", value: 100, logs: []rpcLog{tornado},
			give: []chains.Movement{native(router, 100)},
			want: []string{"native " + user + "->" + router + " 100 mixer_deposit " + pool + " "}},
		{name: "a contract wallet's deposit: the sender moved nothing itself", logs: []rpcLog{
			tornado}, give: []chains.Movement{token(router, pool, 100)},
			want: []string{"token " + router + "->" + pool + " 100   ",
				"event " + user + "->" + pool + " 100 mixer_deposit " + pool + " "}},
		{name: "bridge without a value movement of the depositor's", value: 3000,
			logs: []rpcLog{hop},
			want: []string{"event " + user + "->" + router + " 3000 bridge_deposit " + router +
				" 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := appendEvents(tt.give, base, user, big.NewInt(tt.value), tt.logs)
			var got []string
			for _, m := range out {
				got = append(got, fmt.Sprintf("%s %s->%s %s %s %s %s", m.Kind,
					m.Inputs[0].Address, m.Outputs[0].Address, m.Outputs[0].Amount, m.Event,
					m.EventContract, m.ToChain))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// FuzzRecognize: any topics and data decode without a panic, and a recognized deposit
// names an event and, where it names them, addresses of 20 bytes.
func FuzzRecognize(f *testing.F) {
	f.Add(tornadoDepositTopic, 2, []byte(words("1", "2")))
	f.Add(anySwapOutTopic, 4, []byte(words("5", "1", "56")))
	f.Add(synapseDepositTopic, 2, []byte(words("1", "0x01", "2")))
	f.Add(hopSentToL2Topic, 4, []byte(words("1", "2", "3", "4")))
	f.Add(acrossV3Topic, 4, []byte(words("0x01", "0x01", "1", "1", "1", "1", "1", "0x01",
		"0x0", "0x180")))
	f.Fuzz(func(t *testing.T, topic0 string, nTopics int, d []byte) {
		if nTopics < 0 || nTopics > 5 {
			return
		}
		topics := []hash{hash(topic0)}
		for i := 1; i < nTopics; i++ {
			topics = append(topics, hash("0x"+hex.EncodeToString(words("0x"+fmt.Sprintf("%x", i*7)))))
		}
		rec, ok := recognize(&rpcLog{Topics: topics, Data: d})
		if !ok {
			return
		}
		if rec.event == "" {
			t.Fatal("recognized without an event")
		}
		for _, a := range []string{rec.depositor, rec.asset} {
			if a != "" && len(a) != 42 {
				t.Fatalf("address %q", a)
			}
		}
	})
}
