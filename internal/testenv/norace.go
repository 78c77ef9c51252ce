//go:build !race

package testenv

// RaceEnabled tells whether the test binary was built with the race
// detector: false in this build (see race.go).
const RaceEnabled = false
