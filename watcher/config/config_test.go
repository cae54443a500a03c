package config

import (
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

func env(name string) (string, bool) {
	v, ok := map[string]string{"TEST_REDIS_URL": "rediss://user:pw@redis.internal:6380/0",
		"TEST_SECRET": "s3cret"}[name]
	return v, ok
}

func TestParse(t *testing.T) {
	tests := []struct {
		give    string
		wantErr string
	}{
		{"valid.yaml", ""},
		{"unknown-key.yaml", "line 9: field pollinterval not found"},
		{"unset-env.yaml", "line 27: environment variable MISSING_SECRET is not set"},
		{"missing-sink.yaml", `rules[0].sinks[1]: no sink named "pager"`},
		{"bad-family.yaml", `chains[0].family: "solana"`},
		{"bad-redis-url.yaml", "redis.url: want redis:// or rediss://"},
		{"bad-network.yaml", `chains[1].network: unknown bitcoin network "moon"`},
		{"no-destinations.yaml", "rules[0].destinations: empty"},
		{"bad-model.yaml", `rules[0].model: "lifo", want poison, haircut or fifo`},
		{"bad-min-amount.yaml", `rules[0].min_amount.native: "0.5", want a whole number`},
		{"bad-deposit-tolerance.yaml",
			`chains[0].deposits.tolerance.native: "1e16", want a whole number`},
		{"bitcoin-deposits.yaml", "chains[1].deposits.infer: not available on bitcoin"},
		{"bad-deposit-max-receipts.yaml",
			"chains[0].deposits.max_receipts: 99999999, want 1 to 4194304"},
		{"bad-fan-in-max-payments.yaml", "chains[0].fan_in.max_payments: -1, want 1 to"},
		{"bitcoin-fan-in.yaml", "chains[1].fan_in: not available on bitcoin"},
		{"bitcoin-fan-in-look-back.yaml", "chains[1].fan_in: not available on bitcoin"},
		{"fan-out-count.yaml", "rules[0].count: 0, want at least 2 for a fan_out"},
		{"bad-duration.yaml", "line 8"},
		{"empty-secret.yaml", "sinks[1].secret: empty"},
		{"duplicate-chain.yaml", `chains[1].name: "ethereum" configured twice`},
		{"alerting-valid.yaml", ""},
		{"sink-unknown-key.yaml", "sinks[2].channel: unknown key of a slack sink (line"},
		{"sink-bad-type.yaml", `sinks[2].type: "teams", want file, webhook, slack`},
		{"sink-email-no-to.yaml", "sinks[4].to: empty (sink mail)"},
		{"route-bad-sink.yaml", `alerting.route.routes[0].sinks[0]: no sink named "opsgenie"`},
		{"route-bad-rule.yaml", `alerting.route.routes[0].match.rule: no rule named "to-bridge"`},
		{"route-lag.yaml", ""},
		{"route-lag-no-heartbeat.yaml", `alerting.route.routes[0].match.rule: "pipeline-lag": ` +
			"lag alerts need alerting.heartbeat.max_lag"},
		{"rule-reserved-name.yaml", `rules[1].name: "pipeline-lag" is the heartbeat's own`},
		{"escalate-bad.yaml", `alerting.escalate[0].to: "urgent"`},
		{"rule-bad-severity.yaml", `rules[1].severity: "sev1"`},
		{"no-route-no-sinks.yaml", "rules[0].sinks: empty (and no alerting.route)"},
		{"api-valid.yaml", ""},
		{"api-no-keys.yaml", "api.keys: none"},
		{"api-bad-key.yaml", "api.keys[0].key exchange-backend: sha256: want the 64 hex"},
		{"api-bad-risk.yaml", `api.risk.sources.ransomware: "extreme"`},
		{"metrics-bad-listen.yaml", `metrics.listen "8080": want host:port`},
		{"bitcoin-chain-id.yaml", "chains[1].chain_id: EVM chains only"},
		{"rpc-weights.yaml", "chains[0].rpc_weights: 1 weights for 2 endpoints"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.give))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := Parse(f, env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.give == "alerting-valid.yaml" {
				checkAlerting(t, c)
				return
			}
			if tt.give == "route-lag.yaml" {
				if r := c.Alerting.Route.Routes[0]; len(r.Match.Rule) != 1 ||
					r.Match.Rule[0] != rules.RuleLag {
					t.Errorf("route %+v", r)
				}
				return
			}
			if tt.give == "api-valid.yaml" {
				if a := c.API; len(a.Keys) != 1 || a.Keys[0].Rate != 20 ||
					a.Risk.HopsPerLevel != 3 || a.Risk.MinShareBP != 100 ||
					a.MaxLag != DefaultAPIMaxLag {
					t.Errorf("api %+v", a)
				}
				return
			}
			eth, _ := c.Chain("ethereum")
			btc, _ := c.Chain("bitcoin")
			switch {
			case c.Redis.URL != "rediss://user:pw@redis.internal:6380/0":
				t.Errorf("redis url %q", c.Redis.URL)
			case c.Sinks[1].Webhook == nil || c.Sinks[1].Webhook.Secret != "s3cret":
				t.Errorf("secret not expanded")
			case *eth.Confirmations != 0 || eth.PollInterval != 2*time.Second:
				t.Errorf("ethereum: an explicit 0 confirmations or the interval was lost: %+v", eth)
			case *btc.Confirmations != DefaultBitcoinConfirmations || btc.Traces != "auto" ||
				btc.PollInterval != DefaultPollInterval:
				t.Errorf("bitcoin defaults: %+v", btc)
			case c.Rules[0].MaxHops != DefaultMaxHops || c.Rules[0].Severity != DefaultSeverity:
				t.Errorf("rule defaults: %+v", c.Rules[0])
			case c.Workers != 1:
				t.Errorf("workers %d", c.Workers)
			case !eth.Inferring() || btc.Inferring():
				t.Errorf("deposit inference: ethereum %v, bitcoin %v; want on, off",
					eth.Inferring(), btc.Inferring())
			case !eth.LookingBack() || btc.LookingBack():
				t.Errorf("fan-in look-back: ethereum %v, bitcoin %v; want on, off",
					eth.LookingBack(), btc.LookingBack())
			}
			fifo := c.Rules[1]
			min, err := fifo.MinAmounts()
			if err != nil || fifo.Model != "fifo" || !fifo.EarlyWarning ||
				c.Rules[0].EarlyWarning || fifo.Window != 720*time.Hour || fifo.MaxTracked != 100000 || min["native"].String() != "100000000000000000" ||
				min["0xdac17f958d2ee523a2206206994597c13d831ec7"].String() != "1000000000" {
				t.Errorf("fifo rule %+v: min %v, %v", fifo, min, err)
			}
		})
	}
}

func TestLoadExample(t *testing.T) {
	t.Setenv("ETH_RPC_URL", "http://127.0.0.1:8545")
	t.Setenv("FLOWWATCH_REDIS_URL", "redis://127.0.0.1:6379")
	t.Setenv("FLOWWATCH_WEBHOOK_URL", "https://alerts.example/hook")
	t.Setenv("FLOWWATCH_WEBHOOK_SECRET", "x")
	c, err := Load(filepath.Join("..", "..", "configs", "flowwatch.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ch := c.Chains[0]; ch.FanIn.MaxPayments != fanin.DefaultMaxPayments ||
		ch.Deposits.MaxReceipts != deposit.DefaultMaxReceipts || !ch.LookingBack() {
		t.Errorf("%s: fan_in.max_payments %d, deposits.max_receipts %d, fan_in.look_back "+
			"%v: want the defaults", ch.Name, ch.FanIn.MaxPayments, ch.Deposits.MaxReceipts,
			ch.LookingBack())
	}
	for _, l := range c.Lists {
		if _, err := os.Stat(l.Path); err != nil {
			t.Errorf("list %s: %v", l.Path, err)
		}
	}
}

// TestLoadCompose: docker-compose.yml runs flowwatch with a config of configs/ that loads
// with the environment the compose file gives it, and metrics on.
func TestLoadCompose(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	fw, ok := compose.Services["flowwatch"]
	if !ok || len(fw.Command) != 3 || fw.Command[0] != "run" {
		t.Fatalf("flowwatch service %+v", fw)
	}
	// The compose file mounts configs/ at /etc/flowwatch.
	local := func(p string) string {
		return filepath.Join("..", "..", "configs", strings.TrimPrefix(p, "/etc/flowwatch/"))
	}
	env := map[string]string{}
	for k, v := range fw.Environment {
		if d, ok := strings.CutPrefix(v, "${"+k+":-"); ok { // a default
			v = strings.TrimSuffix(d, "}")
		}
		if strings.HasPrefix(v, "/etc/flowwatch/") {
			v = local(v)
		}
		env[k] = v
	}
	f, err := os.Open(local(fw.Command[2]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Parse(f, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Listen == "" || c.Redis.URL != "redis://redis:6379" {
		t.Fatalf("config %+v", c)
	}
	for _, s := range []string{"redis", "geth"} {
		if _, ok := compose.Services[s]; !ok {
			t.Errorf("no %s service", s)
		}
	}
}

// TestRulesExample: the example rules load in place of the example config's rules.
func TestRulesExample(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "configs", "flowwatch.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "configs", "rules.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(string(base), "\nrules:")
	_, tail, _ := strings.Cut(rest, "\nsinks:")
	_, ruleList, _ := strings.Cut(string(rules), "\nrules:")
	text := head + "\nrules:" + ruleList + "\nsinks:" + tail
	env := map[string]string{"FLOWWATCH_REDIS_URL": "", "ETH_RPC_URL": "http://127.0.0.1:8545",
		"FLOWWATCH_WEBHOOK_URL": "https://alerts.example/hook", "FLOWWATCH_WEBHOOK_SECRET": "x"}
	c, err := Parse(strings.NewReader(text), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	models := map[string]bool{}
	for _, r := range c.Rules {
		models[r.Model] = true
	}
	if len(c.Rules) != 9 || c.Rules[6].PeelPercent != 25 || !models["poison"] || !models["haircut"] || !models["fifo"] ||
		c.Rules[4].Pattern != "fan_out" || c.Rules[4].Count != 5 ||
		c.Rules[5].Idle != 2160*time.Hour {
		t.Fatalf("rules %+v", c.Rules)
	}
}

// checkAlerting checks what alerting-valid.yaml sets: each sink's own keys in its config,
// secrets expanded, the grouping, escalation and routing tree.
func checkAlerting(t *testing.T, c *Config) {
	t.Helper()
	a := &c.Alerting
	esc, err := a.Escalations()
	switch {
	case err != nil || len(esc) != 1 || esc[0].Over.String() != "100000000000000000000":
		t.Errorf("escalations %+v, %v", esc, err)
	case a.GroupWait == nil || *a.GroupWait != 0 || a.GroupInterval != 2*time.Minute ||
		a.RepeatInterval == nil || *a.RepeatInterval != 0 || a.GroupWindow != 12*time.Hour:
		t.Errorf("grouping %+v", a)
	case a.Route == nil || len(a.Route.Routes) != 2 || !a.Route.Routes[0].Continue ||
		a.Route.Routes[1].Match.Category[1] != "bridge":
		t.Errorf("route %+v", a.Route)
	case a.Heartbeat == nil || a.Heartbeat.Sink != "slack" || a.Heartbeat.MaxLag != 10*time.Minute:
		t.Errorf("heartbeat %+v", a.Heartbeat)
	case c.Sinks[0].File == nil || c.Sinks[0].File.Path != "-":
		t.Errorf("file sink %+v", c.Sinks[0])
	case c.Sinks[1].Webhook == nil || c.Sinks[1].Webhook.Secret != "s3cret" ||
		c.Sinks[1].Rate != 2 || c.Sinks[1].Burst != 5:
		t.Errorf("webhook sink %+v", c.Sinks[1])
	case c.Sinks[2].Slack == nil || c.Sinks[3].PagerDuty == nil ||
		c.Sinks[3].PagerDuty.URL == "":
		t.Errorf("slack, pagerduty sinks %+v %+v", c.Sinks[2], c.Sinks[3])
	case c.Sinks[4].Email == nil || c.Sinks[4].Email.Port != 587 ||
		c.Sinks[4].Email.Password != "s3cret" || c.Sinks[4].Email.TLS != "starttls":
		t.Errorf("email sink %+v", c.Sinks[4].Email)
	case c.Rules[0].Sinks != nil || c.Rules[1].Severity != "critical":
		t.Errorf("rules %+v", c.Rules)
	}
}

func TestRuleToRules(t *testing.T) {
	give := Rule{Name: "fifo", Severity: "high", Sources: []string{"ransomware"},
		Destinations: []string{"exchange"}, MaxHops: 5, Model: "fifo",
		MinAmount: map[string]string{"native": "1000000"}, Window: time.Hour,
		MaxTracked: 7, Count: 3, Idle: 2 * time.Hour, PeelPercent: 25}
	got, err := give.Rule()
	if err != nil {
		t.Fatal(err)
	}
	want := rules.Rule{Name: "fifo", Severity: "high", SourceCategories: []string{"ransomware"},
		Destinations: []string{"exchange"}, MaxHops: 5, Model: "fifo",
		MinAmount: map[string]*big.Int{"native": big.NewInt(1000000)}, Window: time.Hour,
		MaxTracked: 7, Count: 3, Idle: 2 * time.Hour, PeelPercent: 25}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	bad := Rule{Name: "r", MinAmount: map[string]string{"native": "-1"}}
	if _, err := bad.Rule(); err == nil ||
		!strings.Contains(err.Error(), "rule r: min_amount.native") {
		t.Fatalf("bad min_amount: %v", err)
	}
}
