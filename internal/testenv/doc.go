// Package testenv gives tests the services of the test environment: Kafka
// brokers, an S3-compatible bucket, S3 servers of their own to kill, kcat
// and a Python interpreter with the interop packages.
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
//	                              and for the servers PrivateS3 starts
//	WDSTREAM_VERSITYGW            path of the versitygw binary (the S3 server
//	                              of WDSTREAM_S3_URL), for PrivateS3
//	WDSTREAM_KCAT                 path of kcat; else kcat is looked up on PATH
//	WDSTREAM_PYTHON               a Python interpreter that imports numpy,
//	                              pyarrow and safetensors
//	CI                            "true" in CI (any value but "", "0", "false")
//
// # Skip or fail
//
// A test that needs a real service asks for it with [RealKafka],
// [RealKafkaSASL], [S3Bucket], [PrivateS3], [Kcat] or [Python]. When the variable is not
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
//
// # S3 server faults
//
// The S3 server of WDSTREAM_S3_URL is shared by every test running in
// parallel, so no test stops it. A test that kills an S3 server starts one
// of its own with [PrivateS3]: versitygw on a free port of 127.0.0.1 with a
// posix root under the test's temp dir, which the test kills (SIGKILL) and
// starts again on the same port and root, at a moment it picks by watching
// objects appear in that root ([S3Server.KillWhen]). [KillSchedule] gives
// such tests their number of rounds and a seeded random source for their
// kill points (WDSTREAM_S3_KILL_ROUNDS, WDSTREAM_S3_KILL_SEED; the seed is
// logged, so that a failing schedule runs again).
package testenv
