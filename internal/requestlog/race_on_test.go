//go:build race

package requestlog

// scaleDefaultRows is TestScale's size in the normal suite: smaller under the race detector, which slows the
// pure-Go SQLite several-fold.
const scaleDefaultRows = 5_000
