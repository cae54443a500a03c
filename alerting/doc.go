// Package alerting will own the Alert model, the pipeline stages (dedup, group, throttle,
// route, retry) and the Notifier interface that sinks implement (see ../shared/DESIGN.md and
// the pipeline and alerting issues). Nothing is built here yet.
package alerting
