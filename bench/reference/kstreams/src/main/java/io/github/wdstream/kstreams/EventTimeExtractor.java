package io.github.wdstream.kstreams;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.TimestampExtractor;

/**
 * Event time for both input topics: the {@code ts} field of the (already deserialized) value, not the Kafka
 * record's timestamp, which is when it was produced. A record without a usable ts gets -1, which Kafka
 * Streams drops (and counts in dropped-records). Internal topics (repartition, changelog) carry the
 * extracted time as their record timestamp and use the default extractor.
 */
public final class EventTimeExtractor implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
        Object v = record.value();
        if (v instanceof ObjectNode imp) {
            return Impressions.ts(imp);
        }
        if (v instanceof Install in && in.ts() != null) {
            return in.ts();
        }
        return -1;
    }
}
