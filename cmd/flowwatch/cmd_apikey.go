package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/flowwatch/flowwatch/watcher/api"
)

func runAPIKey(_ context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "api-key [--name NAME] [--scopes read,write]\n\n" +
		"Makes a new API key: prints the key (give it to the client; it is not kept) and\n" +
		"the entry to put in the config's api.keys (which holds only its SHA-256)."
	fs := newFlagSet("api-key", synopsis, stderr)
	name := fs.String("name", "exchange", "the key's name in logs and errors")
	scopes := fs.String("scopes", "read", "comma-separated: read, write")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fail(stderr, "api-key", err)
	}
	key := "fw_" + base64.RawURLEncoding.EncodeToString(b)
	k := api.Key{Name: *name, SHA256: api.HashKey(key), Scopes: strings.Split(*scopes, ",")}
	if err := k.Validate(); err != nil {
		return usageError(stderr, "api-key", "%v", err)
	}
	fmt.Fprintf(stdout, "key: %s\n\nconfig (api.keys):\n  - name: %s\n    sha256: %s\n"+
		"    scopes: [%s]\n", key, k.Name, k.SHA256, strings.Join(k.Scopes, ", "))
	return exitOK
}
