package pagerduty

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flowwatch/flowwatch/alerting/internal/post"
)

// Defaults for Config.
const (
	DefaultURL     = "https://events.pagerduty.com/v2/enqueue"
	DefaultTimeout = 10 * time.Second
)

// Config configures a Sink.
type Config struct {
	// RoutingKey is the Events API v2 integration key of the service: a secret.
	RoutingKey string `yaml:"routing_key"`
	// URL is the Events API endpoint (DefaultURL; EU accounts use events.eu.pagerduty.com).
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

// SetDefaults fills in what is unset with the defaults.
func (c *Config) SetDefaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports the first invalid field, by its YAML key, never showing the key.
func (c *Config) Validate() error {
	if err := post.CheckURL("url", c.URL); err != nil {
		return err
	}
	switch {
	case c.RoutingKey == "":
		return errors.New("routing_key: empty")
	case len(c.RoutingKey) != 32:
		return fmt.Errorf("routing_key: %d characters, want the integration key's 32",
			len(c.RoutingKey))
	case c.Timeout < 0:
		return fmt.Errorf("timeout %s: want more than 0", c.Timeout)
	}
	return nil
}

// New returns a sink; client nil means one with the config's timeout.
func New(c Config, client *http.Client) (*Sink, error) {
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	return &Sink{url: c.URL, key: c.RoutingKey, client: client}, nil
}
