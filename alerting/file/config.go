package file

import (
	"errors"
	"fmt"
	"io"
)

// Defaults for Config.
const (
	DefaultMaxSize  = 100 << 20 // bytes
	DefaultMaxFiles = 5
)

// Config configures a Sink.
type Config struct {
	// Path is the file to append to; "-" is stdout (never rotated).
	Path string `yaml:"path"`
	// MaxSize is the size in bytes past which the file is rotated; MaxFiles how many
	// rotated files are kept.
	MaxSize  int64 `yaml:"max_size"`
	MaxFiles int   `yaml:"max_files"`
}

// SetDefaults fills in what is unset with the defaults.
func (c *Config) SetDefaults() {
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
}

// Validate reports the first invalid field, by its YAML key.
func (c *Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("path: empty (\"-\" is stdout)")
	case c.MaxSize < 0:
		return fmt.Errorf("max_size %d: want more than 0", c.MaxSize)
	case c.MaxFiles < 0:
		return fmt.Errorf("max_files %d: want 1 or more", c.MaxFiles)
	}
	return nil
}

// New returns a sink for c, writing "-" to stdout.
func New(c Config, stdout io.Writer) (*Sink, error) {
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Path == "-" {
		return NewWriter(stdout), nil
	}
	s := &Sink{cfg: c}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}
