package main

import (
	"fmt"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrape reads the metrics at url's /metrics, with key as the bearer token if it is set.
func scrape(t *testing.T, url, key string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return fams
}

// metricValue sums the series of name whose labels include want (name, value, ...): the
// values of counters and gauges, the sample counts of histograms; false if none has them.
func metricValue(fams map[string]*dto.MetricFamily, name string, want ...string) (
	float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	sum, found := 0.0, false
series:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue series
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

// metricSum is metricValue of the metrics at url's /metrics.
func metricSum(t *testing.T, url, name string, want ...string) float64 {
	t.Helper()
	v, _ := metricValue(scrape(t, url, ""), name, want...)
	return v
}

// waitMetric waits until metricSum of name (its series with the labels want) reaches min
// at url's /metrics; it fails the test after 30 s.
func waitMetric(t *testing.T, url, name string, min float64, want ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s%v of %v or more", name, want, min), func() bool {
		return metricSum(t, url, name, want...) >= min
	})
}
