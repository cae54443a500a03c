package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Defaults.
const (
	DefaultConfirmations = 12
	// DefaultBitcoinConfirmations is the confirmations default of bitcoin chains.
	DefaultBitcoinConfirmations = 6
	DefaultPollInterval         = 12 * time.Second
	DefaultWorkers              = 1
	DefaultTraces               = "auto"
	DefaultMaxHops              = 4
	DefaultSeverity             = "high"
	DefaultClaimIdle            = time.Minute
	DefaultRedisPrefix          = "fw"
)

// Config is the whole file.
type Config struct {
	Redis  Redis   `yaml:"redis"`
	Chains []Chain `yaml:"chains"`
	Lists  []List  `yaml:"lists"`
	Rules  []Rule  `yaml:"rules"`
	Sinks  []Sink  `yaml:"sinks"`
	// Alerting is how alerts become notifications: incidents, escalation, routing.
	Alerting Alerting `yaml:"alerting"`
	// API is the screening API.
	API API `yaml:"api"`
	// Metrics is where the process's Prometheus metrics and health checks are served.
	Metrics Metrics `yaml:"metrics"`
	Workers int     `yaml:"workers"`
	// ClaimIdle: a worker silent this long is taken for dead; another takes its chains and
	// the entries it left unacknowledged over.
	ClaimIdle time.Duration `yaml:"claim_idle"`
	// PollerLease: with Redis, one process at a time publishes each chain, holding a lease
	// this long unrenewed; the others stand by and take over within about this long after
	// it dies. 0: the default (15s).
	PollerLease time.Duration `yaml:"poller_lease"`
}

// Metrics configures the operations endpoint of flowwatch run: /metrics (Prometheus),
// /healthz and /readyz, without keys (for a private network). The API, when on, serves
// the same /metrics.
type Metrics struct {
	// Listen is the address to serve on (host:port); empty: none.
	Listen string `yaml:"listen"`
}

// Redis says where the queue and shared state live; an empty URL means in memory.
type Redis struct {
	URL      string `yaml:"url"` // redis:// or rediss://
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Prefix starts every key (default "fw"), so that several deployments can share a
	// server.
	Prefix string `yaml:"prefix"`
	// Cluster: the URL is a Redis Cluster node's, with the others as addr= parameters
	// (redis://node1:7000?addr=node2:7000&addr=node3:7000). Every key carries a hash tag
	// (the chain, {alerts}, {deposits}), so that what is written together lives in one slot.
	Cluster bool `yaml:"cluster"`
}

// Chain is one chain to follow.
type Chain struct {
	Name    string        `yaml:"name"`
	Family  chains.Family `yaml:"family"`
	Network string        `yaml:"network"` // bitcoin: mainnet, testnet, ...
	RPC     []string      `yaml:"rpc"`
	// RPCWeights rank the endpoints of RPC, one each (default 1): calls go to the heaviest
	// healthy one.
	RPCWeights []int `yaml:"rpc_weights"`
	// RPCMaxLag is how many blocks an endpoint's head may lag the best endpoint's before
	// calls avoid it (default 8).
	RPCMaxLag     uint64        `yaml:"rpc_max_lag"`
	Confirmations *uint64       `yaml:"confirmations"`
	StartBlock    uint64        `yaml:"start_block"`
	PollInterval  time.Duration `yaml:"poll_interval"`
	Traces        string        `yaml:"traces"`
	Explorer      string        `yaml:"explorer"` // transaction URL prefix
	// ChainID (EVM chains), when set, is the EIP-155 chain id every endpoint must serve:
	// one of another chain is refused at start (1 Ethereum, 42161 Arbitrum One, ...).
	ChainID uint64 `yaml:"chain_id"`
	// CACert is a PEM file of certificates to trust for https RPC URLs (btcd's rpc.cert);
	// relative to the config file.
	CACert string `yaml:"ca_cert"`
	// Deposits configures the inference of exchange deposit addresses (EVM chains).
	Deposits Deposits `yaml:"deposits"`
	// FanIn configures what the chain remembers for fan_in rules (EVM chains).
	FanIn FanIn `yaml:"fan_in"`
}

// FanIn bounds what a chain remembers of its recent transfers for fan_in rules: the
// window of a rule is in effect the shorter of its own and the time the chain takes to
// make MaxPayments transfers.
type FanIn struct {
	// MaxPayments is how many transfers are remembered (default fanin.DefaultMaxPayments,
	// about 370 bytes each; 0: the default).
	MaxPayments int `yaml:"max_payments"`
	// LookBack: when an address pays a listed source, the token transfers it received in
	// the part of the window not remembered are asked of the node (eth_getLogs; and the
	// coin's by trace_filter, unless the chain's traces are off; default on). Off, a
	// rule's window is in effect what is remembered.
	LookBack *bool `yaml:"look_back"`
}

// LookingBack says whether the chain's fan_in rules ask the node what it does not remember.
func (ch *Chain) LookingBack() bool { return ch.FanIn.LookBack != nil && *ch.FanIn.LookBack }

// Deposits configures how a chain's exchange deposit addresses are inferred: an address
// that forwards what it received to a labelled exchange within Window is that exchange's.
type Deposits struct {
	// Infer turns the inference on or off; default on for EVM chains, and it is not
	// available on Bitcoin.
	Infer *bool `yaml:"infer"`
	// Window: how long after value arrived its forward still counts (default 24h).
	Window time.Duration `yaml:"window"`
	// Tolerance is, per asset ("native" or a token's address), how much less than what
	// arrived the forward may be, in base units (default native: 0.01 coin of 18
	// decimals; tokens: none).
	Tolerance map[string]string `yaml:"tolerance"`
	// MaxReceipts is how many addresses' arrivals are remembered (default
	// deposit.DefaultMaxReceipts, about 424 bytes each; 0: the default). The window is in
	// effect the shorter of Window and the time the chain takes to pay this many.
	MaxReceipts int `yaml:"max_receipts"`
}

// Inferring says whether the chain infers deposit addresses.
func (ch *Chain) Inferring() bool { return ch.Deposits.Infer != nil && *ch.Deposits.Infer }

// Tolerances returns Deposits.Tolerance as amounts keyed by asset as movements name it.
func (d *Deposits) Tolerances() (map[string]*big.Int, error) {
	return assetAmounts("tolerance", d.Tolerance)
}

// List is a watchlist or label file (CSV: chain,address,role,category,entity,source,
// valid_from,valid_to). Relative paths are relative to the config file.
type List struct {
	Path string `yaml:"path"`
}

var (
	envRef   = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	nameRule = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// Load reads and checks a config file.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(bytes.NewReader(raw), os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range c.Lists {
		if !filepath.IsAbs(c.Lists[i].Path) {
			c.Lists[i].Path = filepath.Join(filepath.Dir(path), c.Lists[i].Path)
		}
	}
	for i := range c.Chains {
		if p := c.Chains[i].CACert; p != "" && !filepath.IsAbs(p) {
			c.Chains[i].CACert = filepath.Join(filepath.Dir(path), p)
		}
	}
	for _, p := range []*string{&c.API.TLSCert, &c.API.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	return c, nil
}

// Parse decodes, expands, defaults and validates a config; lookup reads the environment.
func Parse(r io.Reader, lookup func(string) (string, bool)) (*Config, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	expanded, err := expand(raw, lookup)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n ", ""))
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// expand replaces ${NAME} with the environment's value, line by line, outside comments;
// an unset variable is an error naming it and its line.
func expand(raw []byte, lookup func(string) (string, bool)) ([]byte, error) {
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		code, comment, _ := strings.Cut(line, "#")
		var missing string
		code = envRef.ReplaceAllStringFunc(code, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookup(name)
			if !ok && missing == "" {
				missing = name
			}
			return v
		})
		if missing != "" {
			return nil, fmt.Errorf("line %d: environment variable %s is not set", i+1, missing)
		}
		if strings.Contains(line, "#") {
			code += "#" + comment
		}
		lines[i] = code
	}
	return []byte(strings.Join(lines, "\n")), nil
}

func (c *Config) setDefaults() {
	c.API.setDefaults()
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.ClaimIdle == 0 {
		c.ClaimIdle = DefaultClaimIdle
	}
	if c.Redis.Prefix == "" {
		c.Redis.Prefix = DefaultRedisPrefix
	}
	for i := range c.Chains {
		ch := &c.Chains[i]
		if ch.Confirmations == nil {
			n := uint64(DefaultConfirmations)
			if ch.Family == chains.FamilyBitcoin {
				n = DefaultBitcoinConfirmations
			}
			ch.Confirmations = &n
		}
		if ch.PollInterval == 0 {
			ch.PollInterval = DefaultPollInterval
		}
		if ch.Traces == "" {
			ch.Traces = DefaultTraces
		}
		if ch.Family == chains.FamilyBitcoin && ch.Network == "" {
			ch.Network = "mainnet"
		}
		if ch.Deposits.Infer == nil {
			infer := ch.Family == chains.FamilyEVM
			ch.Deposits.Infer = &infer
		}
		if ch.FanIn.LookBack == nil && ch.Family == chains.FamilyEVM {
			on := true
			ch.FanIn.LookBack = &on
		}
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.MaxHops == 0 {
			r.MaxHops = DefaultMaxHops
		}
		if r.Severity == "" {
			r.Severity = DefaultSeverity
		}
	}
}

// Validate checks values and cross-references, naming the key at fault.
func (c *Config) Validate() error {
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return errors.New("redis.url: want redis:// or rediss://")
		}
	}
	if c.ClaimIdle < 0 {
		return errors.New("claim_idle: negative")
	}
	if c.PollerLease < 0 || (c.PollerLease > 0 && c.PollerLease < 100*time.Millisecond) {
		return fmt.Errorf("poller_lease %s: want 100ms or more", c.PollerLease)
	}
	if err := c.API.validate(); err != nil {
		return err
	}
	if l := c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return fmt.Errorf("metrics.listen %q: want host:port", l)
		}
	}
	if strings.ContainsAny(c.Redis.Prefix, "{}: ") {
		return fmt.Errorf("redis.prefix: %q, must not contain {, }, : or spaces", c.Redis.Prefix)
	}
	if c.Workers < 1 {
		return fmt.Errorf("workers: %d, want at least 1", c.Workers)
	}
	if len(c.Chains) == 0 {
		return errors.New("chains: none configured")
	}
	names := map[string]bool{}
	for i, ch := range c.Chains {
		key := fmt.Sprintf("chains[%d]", i)
		switch {
		case !nameRule.MatchString(ch.Name):
			return fmt.Errorf("%s.name: %q, want lower-case letters, digits, - and _", key, ch.Name)
		case names[ch.Name]:
			return fmt.Errorf("%s.name: %q configured twice", key, ch.Name)
		case ch.Family != chains.FamilyEVM && ch.Family != chains.FamilyBitcoin:
			return fmt.Errorf("%s.family: %q, want evm or bitcoin", key, ch.Family)
		case len(ch.RPC) == 0:
			return fmt.Errorf("%s.rpc: no endpoint", key)
		case ch.PollInterval < 0:
			return fmt.Errorf("%s.poll_interval: negative", key)
		case !slices.Contains([]string{"auto", "on", "off"}, ch.Traces):
			return fmt.Errorf("%s.traces: %q, want auto, on or off", key, ch.Traces)
		}
		if ch.RPCWeights != nil && len(ch.RPCWeights) != len(ch.RPC) {
			return fmt.Errorf("%s.rpc_weights: %d weights for %d endpoints", key,
				len(ch.RPCWeights), len(ch.RPC))
		}
		for j, w := range ch.RPCWeights {
			if w < 1 {
				return fmt.Errorf("%s.rpc_weights[%d]: %d, want 1 or more", key, j, w)
			}
		}
		for j, u := range ch.RPC {
			if p, err := url.Parse(u); err != nil || p.Host == "" {
				return fmt.Errorf("%s.rpc[%d]: not a URL", key, j)
			}
		}
		if ch.Family == chains.FamilyBitcoin {
			if _, err := chains.BitcoinParams(ch.Network); err != nil {
				return fmt.Errorf("%s.network: %w", key, err)
			}
		}
		switch {
		case ch.Family == chains.FamilyBitcoin && ch.Inferring():
			return fmt.Errorf("%s.deposits.infer: not available on bitcoin chains", key)
		case ch.Family == chains.FamilyBitcoin && ch.ChainID != 0:
			return fmt.Errorf("%s.chain_id: EVM chains only (bitcoin chains have network)",
				key)
		case ch.Family == chains.FamilyBitcoin && ch.FanIn != FanIn{}:
			return fmt.Errorf("%s.fan_in: not available on bitcoin chains", key)
		case ch.Deposits.Window < 0:
			return fmt.Errorf("%s.deposits.window: %s, want more than 0", key,
				ch.Deposits.Window)
		case ch.Deposits.MaxReceipts < 0 || ch.Deposits.MaxReceipts > deposit.MaxMaxReceipts:
			return fmt.Errorf("%s.deposits.max_receipts: %d, want 1 to %d (0: the default)",
				key, ch.Deposits.MaxReceipts, deposit.MaxMaxReceipts)
		case ch.FanIn.MaxPayments < 0 || ch.FanIn.MaxPayments > fanin.MaxMaxPayments:
			return fmt.Errorf("%s.fan_in.max_payments: %d, want 1 to %d (0: the default)",
				key, ch.FanIn.MaxPayments, fanin.MaxMaxPayments)
		}
		if _, err := ch.Deposits.Tolerances(); err != nil {
			return fmt.Errorf("%s.deposits.%w", key, err)
		}
		names[ch.Name] = true
	}
	sinks := map[string]bool{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		key := fmt.Sprintf("sinks[%d]", i)
		switch {
		case s.Name == "":
			return fmt.Errorf("%s.name: empty", key)
		case sinks[s.Name]:
			return fmt.Errorf("%s.name: %q configured twice", key, s.Name)
		case s.Rate < 0 || s.Burst < 0:
			return fmt.Errorf("%s.rate, burst: want 0 (no limit) or more", key)
		}
		if err := s.decode(); err != nil {
			return fmt.Errorf("%s.%w (sink %s)", key, err, s.Name)
		}
		sinks[s.Name] = true
	}
	if err := c.validateAlerting(sinks); err != nil {
		return err
	}
	if len(c.Rules) == 0 {
		return errors.New("rules: none configured")
	}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		switch {
		case r.Name == "":
			return fmt.Errorf("%s.name: empty", key)
		case r.Name == rules.RuleHeartbeat || r.Name == rules.RuleLag:
			return fmt.Errorf("%s.name: %q is the heartbeat's own", key, r.Name)
		case len(r.Destinations) == 0 && !r.Direct && r.Pattern == "":
			return fmt.Errorf("%s.destinations: empty (or direct: true, or a pattern)", key)
		case r.Pattern != "" && !slices.Contains([]string{"fan_out", "fan_in", "dormant",
			"peel_chain", "token_swap"}, r.Pattern):
			return fmt.Errorf("%s.pattern: %q, want fan_out, fan_in, dormant, peel_chain or "+
				"token_swap", key, r.Pattern)
		case slices.Contains([]string{"fan_out", "fan_in", "peel_chain"}, r.Pattern) &&
			r.Count < 2:
			return fmt.Errorf("%s.count: %d, want at least 2 for a %s", key, r.Count, r.Pattern)
		case r.PeelPercent < 0 || r.PeelPercent >= 50:
			return fmt.Errorf("%s.peel_percent: %d, want 1 to 49 (0: 25)", key, r.PeelPercent)
		case (r.Pattern == "fan_out" || r.Pattern == "fan_in") && r.Window <= 0:
			return fmt.Errorf("%s.window: want more than 0 for a %s", key, r.Pattern)
		case r.Pattern == "dormant" && r.Idle <= 0:
			return fmt.Errorf("%s.idle: want more than 0 for dormant", key)
		case r.MaxHops < 1:
			return fmt.Errorf("%s.max_hops: %d, want at least 1", key, r.MaxHops)
		case r.Model != "" && r.Model != "poison" && r.Model != "haircut" && r.Model != "fifo":
			return fmt.Errorf("%s.model: %q, want poison, haircut or fifo", key, r.Model)
		case r.Window < 0:
			return fmt.Errorf("%s.window: %s, want 0 (none) or more", key, r.Window)
		case r.MaxTracked < 0:
			return fmt.Errorf("%s.max_tracked: %d, want 0 (none) or more", key, r.MaxTracked)
		case len(r.Sinks) == 0 && c.Alerting.Route == nil:
			return fmt.Errorf("%s.sinks: empty (and no alerting.route)", key)
		case !slices.Contains(Severities, r.Severity):
			return fmt.Errorf("%s.severity: %q, want %s", key, r.Severity,
				strings.Join(Severities, ", "))
		}
		if _, err := r.MinAmounts(); err != nil {
			return fmt.Errorf("%s.%w", key, err)
		}
		for j, s := range r.Sinks {
			if !sinks[s] {
				return fmt.Errorf("%s.sinks[%d]: no sink named %q", key, j, s)
			}
		}
	}
	for i, l := range c.Lists {
		if l.Path == "" {
			return fmt.Errorf("lists[%d].path: empty", i)
		}
	}
	return nil
}

var tokenAddress = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)

// assetAmounts parses a map of asset to amount in base units, the key named field.
func assetAmounts(field string, m map[string]string) (map[string]*big.Int, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*big.Int, len(m))
	for asset, v := range m {
		if asset != chains.AssetNative && !tokenAddress.MatchString(asset) {
			return nil, fmt.Errorf("%s.%s: want native or a token's 0x address", field, asset)
		}
		n, ok := new(big.Int).SetString(strings.TrimSpace(v), 10)
		if !ok || n.Sign() < 0 {
			return nil, fmt.Errorf("%s.%s: %q, want a whole number of base units",
				field, asset, v)
		}
		out[strings.ToLower(asset)] = n
	}
	return out, nil
}

// Chain returns the configured chain by name.
func (c *Config) Chain(name string) (Chain, bool) {
	for _, ch := range c.Chains {
		if ch.Name == name {
			return ch, true
		}
	}
	return Chain{}, false
}
