package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flowwatch/flowwatch/alerting/internal/post"
)

// DefaultTimeout bounds one delivery.
const DefaultTimeout = 10 * time.Second

// Config configures a Sink.
type Config struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"` // the HMAC key shared with the receiver
	// Timeout bounds one delivery (0: DefaultTimeout).
	Timeout time.Duration `yaml:"timeout"`
}

// SetDefaults fills in what is unset with the defaults.
func (c *Config) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports the first invalid field, by its YAML key. It never shows the secret.
func (c *Config) Validate() error {
	if err := post.CheckURL("url", c.URL); err != nil {
		return err
	}
	switch {
	case c.Secret == "":
		return errors.New("secret: empty")
	case c.Timeout < 0:
		return fmt.Errorf("timeout %s: want more than 0", c.Timeout)
	}
	return nil
}

// New returns a sink; client nil means a client with the config's timeout; now nil means
// time.Now.
func New(c Config, client *http.Client, now func() time.Time) (*Sink, error) {
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	if now == nil {
		now = time.Now
	}
	return &Sink{url: c.URL, secret: []byte(c.Secret), client: client, now: now}, nil
}
