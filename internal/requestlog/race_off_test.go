//go:build !race

package requestlog

// scaleDefaultRows is TestScale's size in the normal suite.
const scaleDefaultRows = 20_000
