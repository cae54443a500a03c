package file

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
)

func TestSinkSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		var buf bytes.Buffer
		return sinktest.Harness{Sink: New(&buf), Delivered: func() []alerting.Alert {
			var out []alerting.Alert
			sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
			for sc.Scan() {
				var a alerting.Alert
				if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				out = append(out, a)
			}
			return out
		}}
	})
}
