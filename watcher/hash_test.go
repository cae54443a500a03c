package watcher

import "github.com/ethereum/go-ethereum/common"

func hexHash(s string) common.Hash { return common.HexToHash(s) }
