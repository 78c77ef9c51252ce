//go:build race

package ingest

// raceEnabled: the race detector slows the tests several times; they
// size themselves down (scaled).
const raceEnabled = true
