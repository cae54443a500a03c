package configs

import "embed"

// Lists are the bundled list files, under lists/.
//
//go:embed lists/*.csv lists/*.xml lists/*.yaml
var Lists embed.FS

// Tokens is the token list (tokens/tokens.csv): symbol and decimals of the major ERC-20
// tokens per chain id, for showing their amounts. Not a watchlist.
//
//go:embed tokens/tokens.csv
var Tokens []byte
