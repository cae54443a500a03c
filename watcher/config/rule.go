package config

import (
	"fmt"
	"math/big"
	"time"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Rule is an alerting rule.
type Rule struct {
	Name         string   `yaml:"name"`
	Severity     string   `yaml:"severity"`
	Sources      []string `yaml:"sources"` // source categories; empty: any
	Destinations []string `yaml:"destinations"`
	MaxHops      int      `yaml:"max_hops"`
	// Model is how taint spreads: poison (default), haircut or fifo.
	Model string `yaml:"model"`
	// MinAmount is, per asset ("native" or a token's contract address), the least tainted
	// amount in base units (a whole number: wei, satoshi, token units) the rule alerts on
	// and follows further.
	MinAmount map[string]string `yaml:"min_amount"`
	// Window: funds are followed and alert for this long after they left the source
	// (between block times); 0: no limit.
	Window time.Duration `yaml:"window"`
	// MaxTracked caps the addresses the rule's model follows per source; 0: no cap.
	MaxTracked int64 `yaml:"max_tracked"`
	// Direct: alert on every payment to an address designated (at the payment's time) as a
	// source of one of Sources, whoever pays; destinations and max_hops do not apply.
	Direct bool `yaml:"direct"`
	// EarlyWarning: also raise provisional alerts on blocks that do not have the chain's
	// confirmations yet (retracted if a reorg removes them first).
	EarlyWarning bool `yaml:"early_warning"`
	// Pattern makes the rule a pattern rule: fan_out (Count fresh addresses within
	// Window), fan_in (Count senders within Window pooled, then paid to watched funds),
	// dormant (a source moves after Idle still), peel_chain (Count peels in a row,
	// Bitcoin) or token_swap (watched funds swapped at a DEX for another asset);
	// destinations and max_hops do not apply.
	Pattern string        `yaml:"pattern"`
	Count   int           `yaml:"count"`
	Idle    time.Duration `yaml:"idle"`
	// PeelPercent: a peel_chain's peels are at most this share of their outputs (1-49;
	// default 25).
	PeelPercent int      `yaml:"peel_percent"`
	Sinks       []string `yaml:"sinks"`
}

// Rule returns the rule the workers judge by, or an error naming the bad entry.
func (r *Rule) Rule() (rules.Rule, error) {
	min, err := r.MinAmounts()
	if err != nil {
		return rules.Rule{}, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	return rules.Rule{Name: r.Name, Severity: r.Severity, SourceCategories: r.Sources,
		Destinations: r.Destinations, MaxHops: r.MaxHops, Model: r.Model, MinAmount: min,
		Window: r.Window, MaxTracked: r.MaxTracked, Direct: r.Direct, Pattern: r.Pattern,
		Count: r.Count, Idle: r.Idle, PeelPercent: r.PeelPercent}, nil
}

// MinAmounts returns MinAmount as amounts keyed by asset as movements name it (token
// addresses in lower case), or an error naming the bad entry.
func (r *Rule) MinAmounts() (map[string]*big.Int, error) {
	return assetAmounts("min_amount", r.MinAmount)
}
