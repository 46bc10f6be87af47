//go:build !race

package requestlog

// scaleDefaultRows is TestScale's size in the normal suite.
const scaleDefaultRows = 20_000

// raceRows scales the row counts of the database tests down under the race detector.
func raceRows(n int) int { return n }
