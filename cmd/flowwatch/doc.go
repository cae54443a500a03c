// Command flowwatch follows sanctioned and attributed wallets on Ethereum/EVM chains and
// Bitcoin and alerts when their funds move toward an exchange, a mixer or a bridge.
//
// Usage:
//
//	flowwatch <command> [flags]
//
// Each command lives in its own cmd_*.go and is run, in tests too, through run:
//
//	alerts     list, show, export and verify the alert log
//	api-key    make an API key for the screening API
//	demo       play a laundering scenario on an in-process chain and follow it
//	extract    write a block range's movements as JSONL
//	lists      inspect watchlist and label files
//	replay     follow an address's funds through a past block range and draw them
//	run        follow the configured chains and raise alerts
//	screen     screen addresses from the command line
//	serve      serve the screening API only
//	validate   check a config file and its lists
//	version    print the version
//
// "flowwatch <command> --help" prints a command's flags. The README describes the
// configuration, the rules and what each command prints.
package main
