package io.github.wdstream.kstreams;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;

/** The command line: {@code --name value} or {@code --name=value}; durations in Go's form (30m, 1h30m, 500ms). */
final class Options {
    static final String USAGE = """
            usage: java -jar wdstream-kstreams-ref.jar --bootstrap-servers HOST:PORT --application-id ID [flags]
              --impressions TOPIC     input impressions (default impressions)
              --installs TOPIC        input installs (default installs)
              --examples TOPIC        output examples, must exist (default examples)
              --window DURATION       label window (default 30m, configs/playstore.yaml's join.label_window)
              --grace DURATION        the join's grace after the window (required: how late, in stream time,
                                      a record may come and still join; null-joined results wait for it)
              --threads N             num.stream.threads (default: the processors the JVM sees)
              --guarantee G           processing.guarantee: at_least_once (default) or exactly_once_v2
              --changelog true|false  log the join's stores to changelog topics (default true, Kafka Streams' default)
              --compression C         producer compression.type (default zstd, at level 1 like wdstream's fastest)
              --state-dir DIR         state.dir (default: Kafka Streams' default)
              --config KEY=VALUE      any other Streams/client property (repeatable)
              --describe              print the topology and exit
            """;

    String bootstrapServers;
    String applicationId;
    String impressions = "impressions";
    String installs = "installs";
    String examples = "examples";
    Duration window = Duration.ofMinutes(30);
    Duration grace;
    int threads = Runtime.getRuntime().availableProcessors();
    String guarantee = StreamsConfig.AT_LEAST_ONCE;
    boolean changelog = true;
    String compression = "zstd";
    String stateDir;
    final Map<String, String> extra = new LinkedHashMap<>();
    boolean describe;

    static Options parse(String[] args) {
        Options o = new Options();
        List<String> a = new ArrayList<>(List.of(args));
        for (int i = 0; i < a.size(); i++) {
            String name = a.get(i);
            if (!name.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + name);
            }
            name = name.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (name.equals("describe") || name.equals("help")) {
                value = "true";
            } else if (i + 1 < a.size()) {
                value = a.get(++i);
            } else {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
            switch (name) {
                case "bootstrap-servers" -> o.bootstrapServers = value;
                case "application-id" -> o.applicationId = value;
                case "impressions" -> o.impressions = value;
                case "installs" -> o.installs = value;
                case "examples" -> o.examples = value;
                case "window" -> o.window = duration(name, value);
                case "grace" -> o.grace = duration(name, value);
                case "threads" -> o.threads = Integer.parseInt(value);
                case "guarantee" -> o.guarantee = value;
                case "changelog" -> o.changelog = Boolean.parseBoolean(value);
                case "compression" -> o.compression = value;
                case "state-dir" -> o.stateDir = value;
                case "config" -> {
                    int kv = value.indexOf('=');
                    if (kv <= 0) {
                        throw new IllegalArgumentException("--config wants KEY=VALUE, got " + value);
                    }
                    o.extra.put(value.substring(0, kv), value.substring(kv + 1));
                }
                case "describe" -> o.describe = true;
                case "help" -> throw new IllegalArgumentException("");
                default -> throw new IllegalArgumentException("unknown flag --" + name);
            }
        }
        if (!o.describe && (o.bootstrapServers == null || o.applicationId == null)) {
            throw new IllegalArgumentException("--bootstrap-servers and --application-id are required");
        }
        if (o.grace == null) {
            throw new IllegalArgumentException("--grace is required");
        }
        if (o.window.isZero() || o.window.isNegative() || o.grace.isNegative()) {
            throw new IllegalArgumentException("--window must be > 0 and --grace >= 0");
        }
        return o;
    }

    private static final Pattern PART = Pattern.compile("(\\d+)(ms|h|m|s)");

    /** Parses a Go duration of whole units: 30m, 1h30m, 90s, 500ms, 0. */
    static Duration duration(String flag, String s) {
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = PART.matcher(s);
        Duration d = Duration.ZERO;
        int at = 0;
        while (at < s.length() && m.find(at) && m.start() == at) {
            long n = Long.parseLong(m.group(1));
            d = d.plus(switch (m.group(2)) {
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMillis(n);
            });
            at = m.end();
        }
        if (at != s.length() || s.isEmpty()) {
            throw new IllegalArgumentException("--" + flag + ": bad duration " + s);
        }
        return d;
    }

    /** The Kafka Streams configuration; what is not set here is Kafka Streams' default. */
    Properties streamsConfig() {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        // A record that does not decode is logged and skipped (wdstream dead-letters it).
        p.put(StreamsConfig.DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
                LogAndContinueExceptionHandler.class);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), compression);
        if (compression.equals("zstd")) {
            p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_ZSTD_LEVEL_CONFIG), 1);
        }
        // A fresh application reads its inputs from the start (Kafka Streams' default, stated).
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        if (stateDir != null) {
            p.put(StreamsConfig.STATE_DIR_CONFIG, Path.of(stateDir).toString());
        }
        p.putAll(extra);
        return p;
    }
}
