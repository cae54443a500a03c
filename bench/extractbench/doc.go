// Command extractbench supports bench/extract.sh: it fills a geth dev node with mixed
// traffic (ether transfers, ERC-20 transfers, contract calls that move ether internally),
// and measures a bare fetch of a block range (eth_getBlockByNumber with full transactions
// plus eth_getBlockReceipts, batched per block, same concurrency as extract, no decoding).
//
//	extractbench fill -rpc URL -blocks N
//	extractbench bare -rpc URL -from 1 -to N -concurrency 8
//	extractbench key -i 0      (the address of a filling key, for bench/replay.sh)
package main
