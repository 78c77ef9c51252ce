// Package kafka is wdstream's one home for Kafka: the only package that
// imports github.com/segmentio/kafka-go (a lint rule in .golangci.yml keeps
// it so). It builds clients with authentication and timeouts (Auth,
// NewClient), administers topics, and reads offsets and consumer lag with
// one definition (Client.Lag).
//
// # Consumer lag
//
// The lag of a consumer group on a partition is the records it still has
// to read: the end offset (high watermark) minus where the group stands,
// which is its committed offset, or the partition's first offset when
// nothing is committed or the commit points before the first offset
// (retention deleted those records: no consumer can read them any more,
// so they are not lag). /metrics and the status page both use it.
package kafka
