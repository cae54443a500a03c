// Package render writes notifications as people read them, for the sinks that send text
// (Slack, email, PagerDuty summaries): headlines, amounts in coins, paths.
package render
