// Command pipelinebench measures sustained movements/s through the pipeline on Redis: a
// journal publishing blocks of synthetic EVM movements (the poller's atomic append), and
// rules workers reading them from Redis Streams, evaluating the rules against shared taint,
// logging alerts in the hash-chained alert log (the workers' end of alerting) and
// acknowledging. bench/pipeline.sh
// prints it beside redis-benchmark's XADD rate on the same server.
//
//	pipelinebench -redis URL -movements 50000 -block 100 -workers 2
package main
