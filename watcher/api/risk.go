package api

import (
	"fmt"
	"slices"
)

// Risk levels, lowest first.
const (
	RiskNone   = "none"
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
	RiskSevere = "severe"
)

// Levels are the risk levels, lowest first.
var Levels = []string{RiskNone, RiskLow, RiskMedium, RiskHigh, RiskSevere}

func rank(level string) int { return slices.Index(Levels, level) }

// Defaults for RiskOptions.
const (
	DefaultHopsPerLevel = 2
	DefaultMinShareBP   = 100 // 1%
)

// DefaultSourceLevels are the levels of watched funds by their source's category: a listed
// source itself, funds one hop from it, and a payment to it (outgoing exposure).
var DefaultSourceLevels = map[string]string{"sanctioned": RiskSevere, "hack": RiskHigh,
	"attributed": RiskHigh, "ransomware": RiskHigh, "scam": RiskMedium}

// DefaultLabelLevels are the levels of labelled services by category; a category not named
// is none (an exchange is not a risk in itself).
var DefaultLabelLevels = map[string]string{"mixer": RiskHigh, "gambling": RiskMedium,
	"darknet": RiskHigh}

// RiskOptions say how screening turns what it found into a level.
type RiskOptions struct {
	// Sources maps a source category to the level of a listed source, of funds one hop
	// from it and of a payment to it; a category not named is medium.
	Sources map[string]string `yaml:"sources"`
	// Labels maps a label category to its level; a category not named is none.
	Labels map[string]string `yaml:"labels"`
	// HopsPerLevel: exposure loses one level for each this many hops beyond the first.
	HopsPerLevel int `yaml:"hops_per_level"`
	// MinShareBP: exposure that is less than this share of what the address holds (basis
	// points; haircut and FIFO know it) counts as low.
	MinShareBP int `yaml:"min_share_bp"`
}

// SetDefaults fills in what is unset.
func (o *RiskOptions) SetDefaults() {
	if o.Sources == nil {
		o.Sources = DefaultSourceLevels
	}
	if o.Labels == nil {
		o.Labels = DefaultLabelLevels
	}
	if o.HopsPerLevel == 0 {
		o.HopsPerLevel = DefaultHopsPerLevel
	}
	if o.MinShareBP == 0 {
		o.MinShareBP = DefaultMinShareBP
	}
}

// Validate reports the first invalid field, by its YAML key.
func (o *RiskOptions) Validate() error {
	for what, m := range map[string]map[string]string{"sources": o.Sources,
		"labels": o.Labels} {
		for cat, level := range m {
			if rank(level) < 0 {
				return fmt.Errorf("risk.%s.%s: %q, want none, low, medium, high or severe",
					what, cat, level)
			}
		}
	}
	switch {
	case o.HopsPerLevel < 1:
		return fmt.Errorf("risk.hops_per_level %d: want at least 1", o.HopsPerLevel)
	case o.MinShareBP < 0 || o.MinShareBP > 10000:
		return fmt.Errorf("risk.min_share_bp %d: want 0 to 10000", o.MinShareBP)
	}
	return nil
}

func (o *RiskOptions) source(category string) string {
	if l, ok := o.Sources[category]; ok {
		return l
	}
	return RiskMedium
}

func (o *RiskOptions) label(category string) string {
	if l, ok := o.Labels[category]; ok {
		return l
	}
	return RiskNone
}

// exposure is the level of funds from a source of category, hops away, that are shareBP of
// what the address holds (-1: unknown, poison).
func (o *RiskOptions) exposure(category string, hops, shareBP int) string {
	r := rank(o.source(category)) - max(0, hops-1)/o.HopsPerLevel
	if shareBP >= 0 && shareBP < o.MinShareBP {
		r = min(r, rank(RiskLow))
	}
	return Levels[max(r, rank(RiskLow))]
}
