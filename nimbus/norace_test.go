//go:build !race

package nimbus

// raceEnabled tells whether the race detector, which multiplies memory
// use, is on.
const raceEnabled = false
