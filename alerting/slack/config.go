package slack

import (
	"fmt"
	"net/http"
	"time"

	"github.com/flowwatch/flowwatch/alerting/internal/post"
)

// DefaultTimeout bounds one delivery.
const DefaultTimeout = 10 * time.Second

// Config configures a Sink.
type Config struct {
	// URL is the incoming webhook's URL (https://hooks.slack.com/services/...): a secret.
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

// SetDefaults fills in what is unset with the defaults.
func (c *Config) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports the first invalid field, by its YAML key, never showing the URL.
func (c *Config) Validate() error {
	if err := post.CheckURL("url", c.URL); err != nil {
		return err
	}
	switch {
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
	return &Sink{url: c.URL, client: client}, nil
}
