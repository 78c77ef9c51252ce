//go:build !unix

package featurize

func processCPUNanos() int64 { return 0 }
