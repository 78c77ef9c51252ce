// Package vec holds the trainer's vector kernels in assembly, apart from
// the trainer because a package that uses cgo (the trainer's openblas
// build) cannot hold Go assembly. Every kernel gives bit for bit the
// results of the scalar Go loop it replaces; on other architectures the
// functions do nothing and report so.
package vec
