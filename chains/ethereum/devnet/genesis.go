package devnet

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Runtime returns the code a deployment of the contract leaves at its address, for genesis
// allocations. Constructors do not run there: state they would set goes in Storage.
func (ct *Contract) Runtime() []byte { return embeddedHex(ct.Name, "runtime") }

// MixerPoolAccount is a genesis account holding a MixerPool of the given denomination.
func MixerPoolAccount(denomination *big.Int) types.Account {
	return types.Account{
		Code:    MixerPool.Runtime(),
		Balance: new(big.Int),
		Storage: map[common.Hash]common.Hash{{}: common.BigToHash(denomination)},
	}
}
