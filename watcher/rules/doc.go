// Package rules decides, for one movement, whether it carries watched funds, where they go,
// and what that changes: a finding (an alert to raise) when the funds reach a destination a
// rule names (exchange, mixer, bridge, ...) within the rule's budgets (hops, minimum amount
// per asset, time window), and taint to store when they reach an unlabelled address or a
// Bitcoin output, so that the next hop is followed.
//
// Taint is kept per model (ModelKey): poison (a flag and the path), haircut (the tainted
// share of what an address holds, or of an output) and FIFO (the queue of tainted and clean
// value in arrival order). Each rule picks its model; Evaluate runs every model the rules
// use, so that they disagree where they should, and the caps on tracked addresses per
// source (MaxTracked, counted by Counter) bound how far a source's funds spread.
//
// A transfer that a recognized deposit log marks (chains.Movement.Event) reaches the mixer
// pool or bridge that emitted the log, even through a router; such a contract is a
// destination, labelled by the lists or by the log (EventLabel). Pattern rules (pattern.go:
// fan-out, fan-in, dormant reactivation, peel chains, token swaps) alert on shapes rather
// than destinations; they keep their state and evidence in the store under PatternKey.
//
// Evaluate is a pure function of the movement, the rules and a View of what is known about
// addresses (watched sources, labels, taint, counters); applying its Decision (storing
// taint, raising alerts) is the caller's business. It never changes what the View returned.
package rules
