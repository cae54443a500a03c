// Package fanin remembers, per address of an account chain, who paid it lately: the
// distinct senders within a window, for the fan-in rule (rules.PatternFanIn) to ask, when
// an address pays a watched or followed one, how many senders it pooled first. It is what
// DPRK IT workers' salaries look like on chain: many employers pay many workers, whose
// wages are pooled at one address that pays an attributed one.
//
// A Tracker watches every transfer of its chain and keeps, for at most MaxAddresses
// receivers (oldest dropped first), their last MaxSenders distinct senders within Window.
// It is kept in memory only: after a restart or a take-over, senders seen before are not
// counted until they pay again. It is not safe for concurrent use: the worker that owns a
// chain calls it from one goroutine.
package fanin
