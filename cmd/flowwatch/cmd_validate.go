package main

import (
	"context"
	"fmt"
	"io"

	"github.com/flowwatch/flowwatch/watcher/config"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "validate --config FILE\n\n" +
		"Loads a config file and its lists and reports what is wrong: a config error (exit 1)\n" +
		"or rejected list entries with file and line (printed; the config stays valid)."
	fs := newFlagSet("validate", synopsis, stderr)
	path := fs.String("config", "", "config `file`")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *path == "" {
		return usageError(stderr, "validate", "--config is required")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(stderr, "validate", err)
	}
	lists, rejected, err := loadLists(cfg, nil)
	if err != nil {
		return fail(stderr, "validate", err)
	}
	sources, labels := lists.Len()
	fmt.Fprintf(stdout, "%s: ok: %d chains, %d rules, %d sinks; lists: %d sources, %d labels, "+
		"%d rejected entries%s\n", *path, len(cfg.Chains), len(cfg.Rules), len(cfg.Sinks),
		sources, labels, len(rejected), joinErrors(rejected))
	return exitOK
}
