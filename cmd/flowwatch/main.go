// Command flowwatch follows sanctioned and attributed wallets on Ethereum/EVM chains and
// Bitcoin and alerts when their funds move toward an exchange, a mixer or a bridge.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
