//go:build !unix

package clustersim

import "time"

// cpuTime is not measured here (the table shows 0).
func cpuTime() time.Duration { return 0 }
