//go:build race

package publisher

// raceSlowdown scales the dry run's latency budget in binaries built with
// the race detector, which slows Go code 5 to 20 times (go.dev/doc/articles/race_detector);
// the report says so next to the measured value.
const raceSlowdown = 10
