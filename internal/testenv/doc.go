// Package testenv gives tests the services of the test environment: Kafka
// brokers, an S3-compatible bucket, kcat and a Python interpreter with the
// interop packages.
//
// # Environment contract
//
// scripts/test.sh (the command that .ci/run calls) starts the real services
// and sets these variables; a developer gets the same with
// scripts/services.sh (see README.md, "Tests"):
//
//	WDSTREAM_KAFKA_BROKERS        comma-separated host:port of an Apache Kafka
//	                              cluster (PLAINTEXT listener)
//	WDSTREAM_KAFKA_SASL_BROKERS   host:port of the same cluster's SASL_PLAINTEXT
//	                              listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)
//	WDSTREAM_KAFKA_SASL_USER      the SASL user, valid for all three mechanisms
//	WDSTREAM_KAFKA_SASL_PASSWORD  its password
//	WDSTREAM_S3_URL               a gocloud.dev bucket URL of the real S3
//	                              server, e.g. s3://BUCKET?endpoint=http://127.0.0.1:19000&use_path_style=true&region=us-east-1
//	AWS_ACCESS_KEY_ID             credentials for WDSTREAM_S3_URL (with
//	AWS_SECRET_ACCESS_KEY         AWS_REGION when the URL names no region)
//	WDSTREAM_KCAT                 path of kcat; else kcat is looked up on PATH
//	WDSTREAM_PYTHON               a Python interpreter that imports numpy,
//	                              pyarrow and safetensors
//	CI                            "true" in CI (any value but "", "0", "false")
//
// # Skip or fail
//
// A test that needs a real service asks for it with [RealKafka],
// [RealKafkaSASL], [S3Bucket], [Kcat] or [Python]. When the variable is not
// set the test is skipped with the reason, except when CI is set: then the
// test fails, so that CI cannot pass without having run it. A variable that
// is set but names something unusable (a broker that does not answer, a
// missing file) always fails the test.
//
// [Brokers] is for tests that need some Kafka but not a particular one: it
// returns the real brokers when WDSTREAM_KAFKA_BROKERS is set and otherwise
// starts an in-process broker (github.com/twmb/franz-go/pkg/kfake) on
// 127.0.0.1, stopped when the test ends, so `go test ./...` passes with no
// environment at all. [EmbeddedKafka] always starts the in-process broker.
//
// Neither broker creates topics on first use: tests create theirs with
// [Topic] (a unique name per test, deleted when the test ends) or
// [CreateTopic].
package testenv
