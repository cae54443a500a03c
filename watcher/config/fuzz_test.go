package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: a config file, however malformed, gives an error that says what is wrong, or
// a config that validates; never a crash. The seeds are the test configs, good and bad,
// and the shipped ones.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, glob := range []string{"testdata/*.yaml", "../../configs/*.yaml"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	if len(seeds) < 30 {
		f.Fatalf("%d seed configs: the globs have lost their files", len(seeds))
	}
	for _, p := range seeds {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(bytes.NewReader(raw), env)
		switch {
		case err != nil && err.Error() == "":
			t.Fatal("an error that says nothing")
		case err != nil:
			if c != nil {
				t.Fatalf("a config with the error %v", err)
			}
		case c == nil:
			t.Fatal("no config and no error")
		default:
			// What Parse accepted stays valid: defaults and checks are settled.
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted, then invalid: %v", err)
			}
		}
	})
}
