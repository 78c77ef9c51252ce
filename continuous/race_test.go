//go:build race

package continuous

// raceEnabled: the race detector slows training several times; the
// heavier tests size down under it.
const raceEnabled = true
