//go:build race

package testenv

// RaceEnabled tells whether the test binary was built with the race
// detector (-race), which slows Go code 5 to 20 times
// (go.dev/doc/articles/race_detector). Nothing in the product scales a
// budget for it: a test that runs timed code under -race states the budget
// it can meet, for example by scaling its own with this constant.
const RaceEnabled = true
