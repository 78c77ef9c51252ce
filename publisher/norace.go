//go:build !race

package publisher

// raceSlowdown is 1 in normal builds: the budget is the spec's.
const raceSlowdown = 1
