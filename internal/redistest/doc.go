// Package redistest connects tests to the real Redis they run against: REDIS_URL, or
// redis://127.0.0.1:6379 (.ci/run starts one there); or, when REDIS_CLUSTER_URL is set, the
// Redis Cluster it names (one node's URL, the others as addr= parameters; .ci/run starts a
// three-master cluster and runs the suite once more against it). A test that needs Redis
// fails, never skips, when none answers. Each test works under a key prefix of its own,
// deleted after it. CutProxy stands between a client and the server and loses the reply
// to a chosen request, as a Redis killed at that moment would: the fault that a client's
// retry turns into a command run twice.
package redistest
