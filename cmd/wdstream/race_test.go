//go:build race

package main

// raceEnabled: the race detector slows every stage several times; the
// longest end-to-end tests skip or size down under it.
const raceEnabled = true
