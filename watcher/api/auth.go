package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// Scopes of an API key.
const (
	ScopeRead  = "read"  // screening, reading registrations
	ScopeWrite = "write" // registering deposit addresses
)

// Defaults for Key.
const (
	DefaultKeyRate  = 50 // requests per second
	DefaultKeyBurst = 100
)

// Key is an API key as the config holds it: its SHA-256 (never the key itself), its
// scopes and its rate limit.
type Key struct {
	Name   string   `yaml:"name"`
	SHA256 string   `yaml:"sha256"` // hex of SHA-256 of the key
	Scopes []string `yaml:"scopes"`
	Rate   float64  `yaml:"rate"` // requests per second; 0: DefaultKeyRate
	Burst  int      `yaml:"burst"`
}

// HashKey is what a config holds of an API key: the hex of its SHA-256.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Validate reports what is wrong with the key's entry.
func (k *Key) Validate() error {
	b, err := hex.DecodeString(k.SHA256)
	switch {
	case k.Name == "":
		return errors.New("name: empty")
	case err != nil || len(b) != sha256.Size:
		return fmt.Errorf("key %s: sha256: want the 64 hex digits of the key's SHA-256 "+
			"(flowwatch api-key makes one)", k.Name)
	case len(k.Scopes) == 0:
		return fmt.Errorf("key %s: scopes: empty (read, write)", k.Name)
	case k.Rate < 0 || k.Burst < 0:
		return fmt.Errorf("key %s: rate, burst: want 0 (default) or more", k.Name)
	}
	for _, s := range k.Scopes {
		if s != ScopeRead && s != ScopeWrite {
			return fmt.Errorf("key %s: scopes: %q, want read or write", k.Name, s)
		}
	}
	return nil
}

// keyring checks bearer tokens against the configured keys, in constant time, and keeps
// each key's rate limiter.
type keyring struct {
	keys     []Key
	hashes   [][]byte
	limiters []*rate.Limiter
}

func newKeyring(keys []Key) (*keyring, error) {
	kr := &keyring{keys: keys}
	for i := range keys {
		k := &keys[i]
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("api.keys[%d].%w", i, err)
		}
		h, _ := hex.DecodeString(k.SHA256)
		r, b := k.Rate, k.Burst
		if r == 0 {
			r = DefaultKeyRate
		}
		if b == 0 {
			b = DefaultKeyBurst
		}
		kr.hashes = append(kr.hashes, h)
		kr.limiters = append(kr.limiters, rate.NewLimiter(rate.Limit(r), b))
	}
	return kr, nil
}

// authenticate finds the key of r's bearer token: its index, or an error for a 401.
func (kr *keyring) authenticate(r *http.Request) (int, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return -1, errors.New("missing bearer token: send Authorization: Bearer <API key>")
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i, h := range kr.hashes { // every key is compared: the time tells nothing
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			found = i
		}
	}
	if found < 0 {
		return -1, errors.New("unknown API key")
	}
	return found, nil
}

// allows says whether key i has scope.
func (kr *keyring) allows(i int, scope string) bool {
	return slices.Contains(kr.keys[i].Scopes, scope)
}

// admit takes one request from key i's budget; when it has none left, it returns how
// many seconds to wait (for Retry-After).
func (kr *keyring) admit(i int) (bool, string) {
	res := kr.limiters[i].Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, strconv.Itoa(int(math.Ceil(d.Seconds())))
	}
	return true, ""
}
