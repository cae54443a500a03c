package devnet

import (
	"context"
	"crypto/ecdsa"
	"embed"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

//go:embed contracts/*.bin contracts/*.abi contracts/*.runtime
var contractFiles embed.FS

// Contract is a compiled contract from contracts/Contracts.sol.
type Contract struct {
	Name string
	ABI  abi.ABI
	Bin  []byte // creation bytecode
}

// The contracts of contracts/Contracts.sol.
var (
	Token     = mustContract("Token")
	Forwarder = mustContract("Forwarder")
	Rejecter  = mustContract("Rejecter")
	MixerPool = mustContract("MixerPool")
	// MixerRouter passes a deposit on to a MixerPool, as Tornado Cash's router does.
	MixerRouter = mustContract("MixerRouter")
	// HopBridge logs Hop's TransferSentToL2 for the ether it takes.
	HopBridge = mustContract("HopBridge")
	// SimpleDex swaps one Token for another in one transaction.
	SimpleDex = mustContract("SimpleDex")
)

func mustContract(name string) *Contract {
	rawABI, err := contractFiles.ReadFile("contracts/" + name + ".abi")
	if err != nil {
		panic(err)
	}
	a, err := abi.JSON(strings.NewReader(string(rawABI)))
	if err != nil {
		panic(fmt.Sprintf("contract %s: %v", name, err))
	}
	return &Contract{Name: name, ABI: a, Bin: embeddedHex(name, "bin")}
}

// embeddedHex reads contracts/<name>.<ext>, a hex file written by the compile script.
// The files are embedded at build time, so a failure is a programming error.
func embeddedHex(name, ext string) []byte {
	raw, err := contractFiles.ReadFile("contracts/" + name + "." + ext)
	if err != nil {
		panic(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		panic(fmt.Sprintf("contract %s.%s: %v", name, ext, err))
	}
	return b
}

// Pack encodes a call to method; it panics on arguments that do not fit the ABI, which is
// a programming error.
func (ct *Contract) Pack(method string, args ...any) []byte {
	data, err := ct.ABI.Pack(method, args...)
	if err != nil {
		panic(fmt.Sprintf("%s.%s: %v", ct.Name, method, err))
	}
	return data
}

// Deploy deploys a contract from key's account in its own block and returns its address.
func (c *Chain) Deploy(ctx context.Context, key *ecdsa.PrivateKey, ct *Contract,
	args ...any) (common.Address, error) {
	data := append([]byte{}, ct.Bin...)
	if len(args) > 0 {
		packed, err := ct.ABI.Pack("", args...)
		if err != nil {
			return common.Address{}, fmt.Errorf("deploy %s: %w", ct.Name, err)
		}
		data = append(data, packed...)
	}
	r, err := c.Send(ctx, Tx{Key: key, Data: data, Gas: 3_000_000})
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy %s: %w", ct.Name, err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, fmt.Errorf("deploy %s: failed", ct.Name)
	}
	return r.ContractAddress, nil
}

// Call sends a transaction calling method on the contract at addr with value attached.
func (c *Chain) Call(ctx context.Context, key *ecdsa.PrivateKey, addr common.Address,
	ct *Contract, value *big.Int, method string, args ...any) (*types.Receipt, error) {
	return c.Send(ctx, Tx{Key: key, To: &addr, Value: value, Data: ct.Pack(method, args...),
		Gas: 500_000})
}
