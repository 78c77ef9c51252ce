//go:build !unix

package simulate

import "time"

// processCPU is unavailable here: CPU metrics report 0.
func processCPU() time.Duration { return 0 }
