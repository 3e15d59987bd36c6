//go:build !unix

package link

// cpuSeconds is not measured off Unix.
func cpuSeconds() float64 { return 0 }
