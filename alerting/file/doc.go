// Package file is the sink that writes alerts as JSON Lines (one alert, with its incident,
// per line) to stdout or to a file that it rotates by size: path, path.1, ... path.N, the
// oldest dropped. A notification's lines are written at once, never split across files or
// interleaved with another's. A Sink is safe for concurrent use.
package file
