package main

// The Prometheus metrics of a flowwatch run process: what its pollers published, its
// workers judged and its queue holds, read at each scrape; its RPC calls per endpoint, the
// alerts it logged and its sinks' deliveries, counted by wrappers around those parts.

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher"
)

// metrics are a process's counters and the registry that serves them.
type metrics struct {
	reg           *prometheus.Registry
	rpcCalls      *prometheus.CounterVec
	rpcSeconds    *prometheus.HistogramVec
	alerts        *prometheus.CounterVec
	notifications *prometheus.CounterVec
	notifySeconds *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.rpcCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flowwatch_rpc_requests_total",
		Help: "Calls to chain nodes by endpoint, call and outcome (ok, not_found, error)."},
		[]string{"chain", "endpoint", "call", "outcome"})
	m.rpcSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "flowwatch_rpc_request_seconds", Help: "Latency of calls to chain nodes.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)},
		[]string{"chain", "endpoint", "call"})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flowwatch_alerts_total",
		Help: "Alerts logged by this process, by rule, severity and state (rule hits)."},
		[]string{"rule", "severity", "state"})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flowwatch_sink_notifications_total",
		Help: "Notifications sent to sinks by outcome (delivered, retry, failed)."},
		[]string{"sink", "outcome"})
	m.notifySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "flowwatch_sink_notify_seconds", Help: "Latency of sink deliveries.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"sink"})
	m.reg.MustRegister(m.rpcCalls, m.rpcSeconds, m.alerts, m.notifications,
		m.notifySeconds, prometheus.NewGoCollector(),
		prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// measuredSource counts and times one endpoint's calls.
type measuredSource struct {
	chains.Source
	chain, endpoint string
	m               *metrics
}

var (
	_ chains.Source              = (*measuredSource)(nil)
	_ chains.TxSource            = (*measuredSource)(nil)
	_ chains.TransferLogSource   = (*measuredSource)(nil)
	_ chains.TraceTransferSource = (*measuredSource)(nil)
)

func (s *measuredSource) observe(call string, start time.Time, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, chains.ErrBlockNotFound), errors.Is(err, chains.ErrTxNotFound):
		outcome = "not_found"
	case errors.Is(err, context.Canceled):
		outcome = "canceled"
	case err != nil:
		outcome = "error"
	}
	s.m.rpcCalls.WithLabelValues(s.chain, s.endpoint, call, outcome).Inc()
	s.m.rpcSeconds.WithLabelValues(s.chain, s.endpoint, call).Observe(
		time.Since(start).Seconds())
}

// measure times call on s's endpoint, counting its outcome.
func measure[T any](s *measuredSource, call string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	s.observe(call, start, err)
	return v, err
}

func (s *measuredSource) Head(ctx context.Context) (uint64, error) {
	return measure(s, "head", func() (uint64, error) { return s.Source.Head(ctx) })
}

func (s *measuredSource) Block(ctx context.Context, n uint64) (*chains.Block, error) {
	return measure(s, "block", func() (*chains.Block, error) { return s.Source.Block(ctx, n) })
}

func (s *measuredSource) Ref(ctx context.Context, n uint64) (chains.BlockRef, error) {
	return measure(s, "ref", func() (chains.BlockRef, error) { return s.Source.Ref(ctx, n) })
}

func (s *measuredSource) Tx(ctx context.Context, hash string) (*chains.Tx, error) {
	ts, ok := s.Source.(chains.TxSource)
	if !ok {
		return nil, errors.New("the endpoint cannot look transactions up")
	}
	return measure(s, "tx", func() (*chains.Tx, error) { return ts.Tx(ctx, hash) })
}

func (s *measuredSource) TransferLogs(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]chains.Movement, error) {
	ls, ok := s.Source.(chains.TransferLogSource)
	if !ok {
		return nil, errors.New("the endpoint cannot find transfers by their logs")
	}
	return measure(s, "logs", func() ([]chains.Movement, error) {
		return ls.TransferLogs(ctx, from, to, senders, receivers)
	})
}

func (s *measuredSource) TraceTransfers(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]chains.Movement, error) {
	ts, ok := s.Source.(chains.TraceTransferSource)
	if !ok {
		return nil, errors.New("the endpoint cannot find transfers by their traces")
	}
	return measure(s, "traces", func() ([]chains.Movement, error) {
		return ts.TraceTransfers(ctx, from, to, senders, receivers)
	})
}

// countingJournal counts the alerts appended (those not appended before).
type countingJournal struct {
	alerting.Journal
	m *metrics
}

func (j countingJournal) Append(ctx context.Context, alerts ...alerting.Alert) (
	[]alerting.Entry, error) {
	es, err := j.Journal.Append(ctx, alerts...)
	for i := range es {
		a := &es[i].Alert
		j.m.alerts.WithLabelValues(a.Rule, a.Severity, string(a.State)).Inc()
	}
	return es, err
}

// countingNotifier counts and times a sink's deliveries.
type countingNotifier struct {
	alerting.Notifier
	sink string
	m    *metrics
}

func (n countingNotifier) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	start := time.Now()
	retry, err := n.Notifier.Notify(ctx, alerts...)
	outcome := "delivered"
	switch {
	case err != nil && retry:
		outcome = "retry"
	case err != nil:
		outcome = "failed"
	}
	n.m.notifications.WithLabelValues(n.sink, outcome).Inc()
	n.m.notifySeconds.WithLabelValues(n.sink).Observe(time.Since(start).Seconds())
	return retry, err
}

// failoverOf is a chain's endpoints, whose health the metrics show.
type failoverOf struct {
	chain string
	f     *chains.Failover
}

// pipelineCollector reads, at each scrape, where the pollers are, what the workers judged
// and what the queue holds.
type pipelineCollector struct {
	s *system
}

var (
	descHead = prometheus.NewDesc("flowwatch_chain_head_block",
		"The node's head block when last asked.", []string{"chain"}, nil)
	descPublished = prometheus.NewDesc("flowwatch_chain_published_block",
		"The newest block published to the queue.", []string{"chain"}, nil)
	descLag = prometheus.NewDesc("flowwatch_chain_lag_blocks",
		"Blocks between the node's head and the newest published (confirmations "+
			"included).", []string{"chain"}, nil)
	descAtHead = prometheus.NewDesc("flowwatch_chain_at_head_age_seconds",
		"Time since the poller last found nothing left to publish (-1: never yet).",
		[]string{"chain"}, nil)
	descBlocks = prometheus.NewDesc("flowwatch_blocks_published_total",
		"Blocks published to the queue by this process.", []string{"chain"}, nil)
	descMoves = prometheus.NewDesc("flowwatch_movements_published_total",
		"Movements published to the queue by this process.", []string{"chain"}, nil)
	descJudged = prometheus.NewDesc("flowwatch_movements_judged_total",
		"Movements the rules workers of this process judged.", []string{"chain"}, nil)
	descCapHits = prometheus.NewDesc("flowwatch_tracked_cap_hits_total",
		"Times a rule's cap on addresses tracked per source (max_tracked) kept funds from "+
			"being followed to a new address: past it, those funds go unwatched.",
		[]string{"chain"}, nil)
	descBacklog = prometheus.NewDesc("flowwatch_queue_backlog",
		"Queue entries not yet acknowledged by the rules workers (pending and unread).",
		[]string{"chain"}, nil)
	descPollerErr = prometheus.NewDesc("flowwatch_chain_poller_error",
		"1 when the poller's last round failed.", []string{"chain"}, nil)
	descEndpointHead = prometheus.NewDesc("flowwatch_rpc_endpoint_head_block",
		"An endpoint's head at the last check.", []string{"chain", "endpoint"}, nil)
	descDemoted = prometheus.NewDesc("flowwatch_rpc_endpoint_demoted",
		"1 when calls avoid the endpoint: it lags, disagrees on a block's hash or failed.",
		[]string{"chain", "endpoint"}, nil)
	descReach = prometheus.NewDesc("flowwatch_worker_memory_reach_seconds",
		"Block time that a rules worker's memory of recent transfers spans (memory "+
			"fan_in: fan-in senders; deposits: deposit inference): the window those rules "+
			"have in effect.", []string{"chain", "memory"}, nil)
	descActive = prometheus.NewDesc("flowwatch_chain_poller_active",
		"1 when this process's poller publishes the chain, 0 when it stands by (another "+
			"holds the lease).", []string{"chain"}, nil)
)

func (c pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHead, descPublished, descLag, descAtHead,
		descBlocks, descMoves, descJudged, descCapHits, descBacklog, descPollerErr, descActive,
		descEndpointHead, descDemoted, descReach} {
		ch <- d
	}
}

func (c pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, chain string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, chain)
	}
	counter := func(d *prometheus.Desc, v uint64, chain string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), chain)
	}
	for _, p := range c.s.pollers {
		st := p.Status()
		gauge(descHead, float64(st.Head), st.Chain)
		gauge(descPublished, float64(st.Published), st.Chain)
		gauge(descLag, float64(st.Head-min(st.Head, st.Published)), st.Chain)
		age := -1.0
		if !st.AtHead.IsZero() {
			age = time.Since(st.AtHead).Seconds()
		}
		gauge(descAtHead, age, st.Chain)
		counter(descBlocks, st.Blocks, st.Chain)
		counter(descMoves, st.Movements, st.Chain)
		failed := 0.0
		if st.Err != "" {
			failed = 1
		}
		gauge(descPollerErr, failed, st.Chain)
		active := 1.0
		if st.Standby {
			active = 0
		}
		gauge(descActive, active, st.Chain)
	}
	for _, fo := range c.s.failovers {
		for _, h := range fo.f.Health() {
			ch <- prometheus.MustNewConstMetric(descEndpointHead, prometheus.GaugeValue,
				float64(h.Head), fo.chain, h.Name)
			demoted := 0.0
			if h.Demoted != "" {
				demoted = 1
			}
			ch <- prometheus.MustNewConstMetric(descDemoted, prometheus.GaugeValue, demoted,
				fo.chain, h.Name)
		}
	}
	judged, capHits := map[string]uint64{}, map[string]uint64{}
	reach := map[watcher.Memory]time.Duration{} // the longest of the workers'; one owns it
	for _, w := range c.s.workers {
		for chain, n := range w.Judged() {
			judged[chain] += n
		}
		for chain, n := range w.CapHits() {
			capHits[chain] += n
		}
		for k, d := range w.Reach() {
			reach[k] = max(reach[k], d)
		}
	}
	for k, d := range reach {
		ch <- prometheus.MustNewConstMetric(descReach, prometheus.GaugeValue, d.Seconds(),
			k.Chain, k.Name)
	}
	for _, chain := range c.s.chainNames {
		counter(descJudged, judged[chain], chain)
		counter(descCapHits, capHits[chain], chain)
		if c.s.backlog == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, err := c.s.backlog.Backlog(ctx, chain)
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descBacklog, err)
			continue
		}
		gauge(descBacklog, float64(n), chain)
	}
}
