package io.github.wdstream.kstreams;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.StreamJoined;

/**
 * The labeling join as a Kafka Streams DSL topology:
 *
 * <pre>
 * impressions (key user_id) -- selectKey(user_id|app_id) -- repartition "impressions-by-user-app" --+
 *                                                                                                  leftJoin, window [ts, ts + window], grace
 * installs (key user_id) ----- selectKey(user_id|app_id) -- repartition "installs-by-user-app" -----+
 *     -- selectKey(user_id) -- examples
 * </pre>
 *
 * The join window is {@code JoinWindows.ofTimeDifferenceAndGrace(window, grace).before(0)}: an install
 * joins an impression when impression.ts &lt;= install.ts &lt;= impression.ts + window, wdstream's window
 * (both ends included). The left join emits a pair's result as soon as the second of the two is
 * processed, and an impression's null-joined result (label 0) only once its window and the grace have
 * passed in stream time (Kafka Streams 3.x, KIP-633's spurious-result fix), at most once a second of wall
 * time (the join's emit interval) and only when a record advances stream time. An impression that arrives
 * when stream time has already passed its window, grace or not, gets its null-joined result at once.
 *
 * <p>The grace must cover how far out of event-time order the join's tasks read: each repartition
 * partition interleaves what the re-keying tasks of all input partitions write, each at its own pace. On
 * a backlog (a replay, a restart after downtime) one task may write a whole day of installs before another
 * has written its first hour, so the grace has to span the backlog; a record later than the grace is
 * dropped from the join's stores (the dropped-records metric) and mislabels its impressions.
 */
final class LabelTopology {
    private LabelTopology() {}

    static Topology build(Options o) {
        StreamsBuilder builder = new StreamsBuilder();
        Serde<String> keys = Serdes.String();
        Serde<ObjectNode> impressionSerde = Json.serde(ObjectNode.class);
        Serde<Install> installSerde = Json.serde(Install.class);
        Serde<Example> exampleSerde = Json.exampleSerde();
        EventTimeExtractor eventTime = new EventTimeExtractor();

        KStream<String, ObjectNode> impressions = builder
                .stream(o.impressions, Consumed.with(keys, impressionSerde)
                        .withTimestampExtractor(eventTime)
                        .withName("impressions"))
                .selectKey((userId, imp) -> Keys.userApp(
                                Impressions.text(imp, Impressions.USER_ID), Impressions.text(imp, Impressions.APP_ID)),
                        Named.as("impression-by-user-app"))
                .repartition(Repartitioned.with(keys, impressionSerde).withName("impressions-by-user-app"));

        // An install with impression_id but without user_id or app_id (the events contract allows it)
        // cannot be keyed by user and app: it is dropped here. wdstream's join matches it by id.
        KStream<String, Install> installs = builder
                .stream(o.installs, Consumed.with(keys, installSerde)
                        .withTimestampExtractor(eventTime)
                        .withName("installs"))
                .filter((userId, in) -> in.hasUserAndApp(), Named.as("installs-with-user-and-app"))
                .selectKey((userId, in) -> Keys.userApp(in.userId(), in.appId()), Named.as("install-by-user-app"))
                .repartition(Repartitioned.with(keys, installSerde).withName("installs-by-user-app"));

        JoinWindows window = JoinWindows.ofTimeDifferenceAndGrace(o.window, o.grace).before(Duration.ZERO);
        StreamJoined<String, ObjectNode, Install> joined = StreamJoined
                .with(keys, impressionSerde, installSerde)
                .withName("label")
                .withStoreName("label");
        if (!o.changelog) {
            joined = joined.withLoggingDisabled();
        }
        KStream<String, Example> labeled = impressions.leftJoin(installs, Labels::label, window, joined);
        labeled.selectKey((userApp, ex) -> ex.userId(), Named.as("example-by-user"))
                .to(o.examples, Produced.with(keys, exampleSerde).withName("examples"));
        return builder.build();
    }
}
