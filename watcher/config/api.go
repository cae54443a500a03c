package config

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/flowwatch/flowwatch/watcher/api"
)

// DefaultAPIMaxLag is how far behind its node's head a chain may be for /readyz.
const DefaultAPIMaxLag = 10 * time.Minute

// API configures the screening API that flowwatch run and flowwatch serve answer on.
type API struct {
	// Listen is the address to serve on (host:port); empty: no API.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files; both or neither (plain HTTP, for loopback).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Keys are the API keys: name, the SHA-256 of the key (flowwatch api-key prints
	// both), scopes, rate limit.
	Keys []api.Key `yaml:"keys"`
	// Risk says how findings become risk levels (see the README, "Screening API").
	Risk     api.RiskOptions `yaml:"risk"`
	MaxBatch int             `yaml:"max_batch"`
	MaxBody  int64           `yaml:"max_body"`
	// MaxLag is how far behind its node's head a chain may be before /readyz says no.
	MaxLag time.Duration `yaml:"max_lag"`
}

func (a *API) setDefaults() {
	if a.MaxLag == 0 {
		a.MaxLag = DefaultAPIMaxLag
	}
	a.Risk.SetDefaults()
}

func (a *API) validate() error {
	if a.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(a.Listen); err != nil {
		return fmt.Errorf("api.listen %q: want host:port", a.Listen)
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		return errors.New("api.tls_cert, api.tls_key: give both (TLS) or neither")
	}
	if len(a.Keys) == 0 {
		return errors.New("api.keys: none (flowwatch api-key makes one)")
	}
	names := map[string]bool{}
	for i := range a.Keys {
		if err := a.Keys[i].Validate(); err != nil {
			return fmt.Errorf("api.keys[%d].%w", i, err)
		}
		if names[a.Keys[i].Name] {
			return fmt.Errorf("api.keys[%d].name: %q configured twice", i, a.Keys[i].Name)
		}
		names[a.Keys[i].Name] = true
	}
	if err := a.Risk.Validate(); err != nil {
		return fmt.Errorf("api.%w", err)
	}
	switch {
	case a.MaxBatch < 0 || a.MaxBody < 0:
		return errors.New("api.max_batch, api.max_body: want 0 (default) or more")
	case a.MaxLag < 0:
		return fmt.Errorf("api.max_lag %s: want more than 0", a.MaxLag)
	}
	return nil
}
