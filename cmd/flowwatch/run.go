package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand. run gets the arguments after the subcommand's name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"alerts", "list, show, export and verify the alert log", runAlerts},
		{"api-key", "make an API key for the screening API", runAPIKey},
		{"demo", "play a laundering scenario on an in-process chain and follow it", runDemo},
		{"extract", "write a block range's movements as JSONL", runExtract},
		{"lists", "inspect watchlist and label files", runLists},
		{"replay", "follow an address's funds through a past block range and draw them", runReplay},
		{"run", "follow the configured chains and raise alerts", runRun},
		{"screen", "screen addresses from the command line", runScreen},
		{"serve", "serve the screening API only", runServe},
		{"validate", "check a config file and its lists", runValidate},
		{"version", "print the version", runVersion},
	}
}

// run is main without the process: it parses args, runs one subcommand and returns the
// exit code. SIGINT and SIGTERM cancel the subcommand's context.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "flowwatch: unknown command %q (see flowwatch --help)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "flowwatch follows sanctioned and attributed crypto wallets and alerts "+
		"when their funds move.")
	fmt.Fprintln(w, "\nUsage: flowwatch <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun flowwatch <command> --help for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting, with a usage
// text that starts with synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: flowwatch %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and says what to return when parsing ends the command: --help
// (exit 0, usage on stdout) or a bad flag (exit 2).
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	code, ok := parseFlagsArgs(fs, args, stdout)
	if ok && fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "flowwatch %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return code, ok
}

// parseFlagsArgs is parseFlags for commands that take arguments after their flags.
func parseFlagsArgs(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	stderr := fs.Output()
	fs.SetOutput(io.Discard) // usage is printed once, below, where it belongs
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "flowwatch %s: %v (see flowwatch %s --help)\n", fs.Name(), err,
			fs.Name())
		return exitUsage, false
	}
	fs.SetOutput(stderr)
	return 0, true
}

// fail prints err as one line, "flowwatch <cmd>: <err>", and returns exitError.
func fail(stderr io.Writer, cmd string, err error) int {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	fmt.Fprintf(stderr, "flowwatch %s: %s\n", cmd, msg)
	return exitError
}

// usageError prints a usage problem as one line and returns exitUsage.
func usageError(stderr io.Writer, cmd, format string, a ...any) int {
	fmt.Fprintf(stderr, "flowwatch %s: %s\n", cmd, fmt.Sprintf(format, a...))
	return exitUsage
}
