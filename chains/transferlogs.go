package chains

import (
	"context"
	"errors"
)

// TransferLogSource finds a block range's token transfers by their logs, without reading
// the blocks. The ethereum source and Failover implement it.
type TransferLogSource interface {
	// TransferLogs returns the token transfers of blocks from..to that any of senders sent
	// or any of receivers received, in chain order.
	TransferLogs(ctx context.Context, from, to uint64, senders, receivers []string) (
		[]Movement, error)
}

// TraceTransferSource finds a block range's transfers of the chain's coin, those of
// contract calls included, by the node's traces (trace_filter), without reading the blocks.
// The ethereum source and Failover implement it.
type TraceTransferSource interface {
	// TraceTransfers returns the transfers of the chain's coin of blocks from..to that any
	// of senders sent or any of receivers received, in chain order.
	TraceTransfers(ctx context.Context, from, to uint64, senders, receivers []string) (
		[]Movement, error)
}

var (
	_ TransferLogSource   = (*Failover)(nil)
	_ TraceTransferSource = (*Failover)(nil)
)

// TransferLogs implements TransferLogSource, on the endpoints that implement it.
func (f *Failover) TransferLogs(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]Movement, error) {
	return call(ctx, f, "logs", func(s Source) ([]Movement, error) {
		ls, ok := s.(TransferLogSource)
		if !ok {
			return nil, errors.New("the endpoint cannot find transfers by their logs")
		}
		return ls.TransferLogs(ctx, from, to, senders, receivers)
	})
}

// TraceTransfers implements TraceTransferSource, on the endpoints that implement it.
func (f *Failover) TraceTransfers(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]Movement, error) {
	return call(ctx, f, "traces", func(s Source) ([]Movement, error) {
		ts, ok := s.(TraceTransferSource)
		if !ok {
			return nil, errors.New("the endpoint cannot find transfers by their traces")
		}
		return ts.TraceTransfers(ctx, from, to, senders, receivers)
	})
}
