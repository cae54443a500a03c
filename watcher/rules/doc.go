// Package rules decides, for one movement, whether it carries watched funds, where they go,
// and what that changes: a finding (an alert to raise) when the funds reach a destination a
// rule names (exchange, mixer, bridge, ...), or new taint when they reach an unlabelled
// address, so that the next hop is followed.
//
// Evaluate is a pure function of the movement, the rules and a View of what is known about
// addresses (watched sources, labels, taint); applying its Decision (storing taint, raising
// alerts) is the caller's business. The taint model here is poison: an address that
// receives watched funds is tainted whole, by the first source whose funds reach it.
package rules
