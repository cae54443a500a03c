package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"time"
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS: only to a server on this host (a local relay)
)

// Defaults for Config.
const (
	DefaultPort    = 587
	DefaultTimeout = 30 * time.Second
)

// Config configures a Sink.
type Config struct {
	Host     string        `yaml:"host"`
	Port     int           `yaml:"port"`
	Username string        `yaml:"username"`
	Password string        `yaml:"password"` // a secret
	From     string        `yaml:"from"`
	To       []string      `yaml:"to"`
	TLS      string        `yaml:"tls"`     // starttls (default), tls or none
	CACert   string        `yaml:"ca_cert"` // PEM file of a CA to trust beside the system's
	Timeout  time.Duration `yaml:"timeout"`
}

// SetDefaults fills in what is unset with the defaults.
func (c *Config) SetDefaults() {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports the first invalid field, by its YAML key, never showing the password.
func (c *Config) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("host: empty")
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("port %d: want 1 to 65535", c.Port)
	case c.TLS != TLSStartTLS && c.TLS != TLSImplicit && c.TLS != TLSNone:
		return fmt.Errorf("tls %q: want starttls, tls or none", c.TLS)
	case c.TLS == TLSNone && !local(c.Host):
		return fmt.Errorf("tls none: only to a server on this host, not %s", c.Host)
	case c.Username != "" && c.Password == "":
		return errors.New("password: empty (username is set)")
	case len(c.To) == 0:
		return errors.New("to: empty")
	case c.Timeout < 0:
		return fmt.Errorf("timeout %s: want more than 0", c.Timeout)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("from %q: %v", c.From, err)
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("to[%d] %q: %v", i, to, err)
		}
	}
	return nil
}

func local(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New returns a sink; now nil means time.Now.
func New(c Config, now func() time.Time) (*Sink, error) {
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	tc := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("ca_cert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_cert %s: no PEM certificate in it", c.CACert)
		}
		tc.RootCAs = pool
	}
	d := &net.Dialer{}
	return &Sink{cfg: c, tls: tc, now: now, dial: func(ctx context.Context, network,
		addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}, nil
}
