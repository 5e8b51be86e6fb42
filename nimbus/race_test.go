//go:build race

package nimbus

const raceEnabled = true
