// Package replay follows an investigator's addresses through a past block range and draws
// where their funds went.
//
// A Replayer judges the range's movements, in chain order, with the rules engine
// (rules.EvaluateTo) under one rule made from the replay's options (model, hops, minimum
// amounts, window, cap on tracked addresses) whose only sources are the given addresses,
// with the watchlists' labels as they were valid at each movement's time (or at an as-of
// date), and deposit addresses inferred from behaviour as the pipeline infers them
// (package deposit). Every hop of watched funds inside the budgets (rules.Flow) becomes an
// edge of a Report: nodes with their labels and designations, edges with transaction,
// time, asset, amount and tainted amount, and totals per destination reached.
//
// A History gives the movements: Scan fetches every block of the range through a
// chains.Source (concurrently, in order); Logs asks an EVM node for the ERC-20 Transfer
// logs of the followed addresses only (eth_getLogs with topic filters, splitting ranges the
// node refuses). Cache keeps fetched blocks on disk for the next replay of the range.
//
// Reports render as JSON, CSV (edges), Graphviz DOT, SVG and one self-contained HTML page;
// the same inputs give byte-identical JSON, CSV and DOT.
//
// A Replayer is not safe for concurrent use: a History calls it from one goroutine.
package replay
