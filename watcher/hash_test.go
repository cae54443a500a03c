package watcher

import (
	"crypto/ecdsa"

	"github.com/ethereum/go-ethereum/common"
)

func hexHash(s string) common.Hash { return common.HexToHash(s) }

type devnetKey = ecdsa.PrivateKey
