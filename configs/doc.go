// Package configs holds the example configuration and the bundled default lists, embedded
// in the binary for `flowwatch demo` (see SOURCES.md for where each list came from).
package configs
