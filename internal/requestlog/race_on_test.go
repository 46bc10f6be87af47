//go:build race

package requestlog

// scaleDefaultRows is TestScale's size in the normal suite: smaller under the race detector, which slows the
// pure-Go SQLite several-fold.
const scaleDefaultRows = 5_000

// raceRows scales the row counts of the database tests down under the race detector.
func raceRows(n int) int { return n / 3 }
