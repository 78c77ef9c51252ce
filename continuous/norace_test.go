//go:build !race

package continuous

const raceEnabled = false
