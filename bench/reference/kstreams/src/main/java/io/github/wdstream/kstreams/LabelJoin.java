package io.github.wdstream.kstreams;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * wdstream's labeling join (impressions x installs -> examples) as a Kafka Streams application, the
 * reference of issue 17's benchmark (bench/join-kstreams.sh). See LabelTopology for the topology.
 *
 * <p>It runs until SIGTERM or SIGINT, then closes Kafka Streams (committing its offsets). On standard
 * output it writes the Kafka Streams and Java versions ({@code version 3.9.2}, {@code java 17...}), one
 * line per state change ({@code state RUNNING}) and, when stopping, one line of
 * metrics summed over the tasks ({@code metrics dropped-records-total=N ...}); Kafka's own logs go to
 * standard error at level warn (-Dorg.slf4j.simpleLogger.defaultLogLevel=info for more).
 */
public final class LabelJoin {
    private LabelJoin() {}

    public static void main(String[] args) throws InterruptedException {
        // Before any Kafka class logs: slf4j-simple reads its level once.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println("wdstream-kstreams-ref: " + e.getMessage());
            }
            System.err.print(Options.USAGE);
            System.exit(2);
            return;
        }
        Topology topology = LabelTopology.build(o);
        if (o.describe) {
            System.out.println(topology.describe());
            return;
        }

        System.out.println("version " + AppInfoParser.getVersion());
        System.out.println("java " + Runtime.version());
        KafkaStreams streams = new KafkaStreams(topology, o.streamsConfig());
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("state " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                done.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            System.err.println("wdstream-kstreams-ref: stream thread failed: " + e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Thread stop = new Thread(() -> {
            printMetrics(streams);
            streams.close(Duration.ofSeconds(30));
            done.countDown();
        }, "shutdown");
        Runtime.getRuntime().addShutdownHook(stop);
        streams.start();
        done.await();
        if (streams.state() == KafkaStreams.State.ERROR) {
            System.exit(1);
        }
    }

    /**
     * Prints the metrics that tell where records went, summed over tasks and threads: records dropped (late
     * beyond the grace into an expired store segment, undecodable, without a usable ts), records processed
     * and commits.
     */
    private static void printMetrics(KafkaStreams streams) {
        Map<String, Double> sums = new TreeMap<>();
        for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
            MetricName n = e.getKey();
            boolean task = n.group().equals("stream-task-metrics");
            boolean thread = n.group().equals("stream-thread-metrics");
            if ((task && n.name().equals("dropped-records-total"))
                    || (thread && (n.name().equals("process-total") || n.name().equals("commit-total")))) {
                Object v = e.getValue().metricValue();
                if (v instanceof Number num) {
                    sums.merge(n.name(), num.doubleValue(), Double::sum);
                }
            }
        }
        StringBuilder line = new StringBuilder("metrics");
        sums.forEach((k, v) -> line.append(' ').append(k).append('=').append(String.format("%.0f", v)));
        System.out.println(line);
        System.out.flush();
    }
}
