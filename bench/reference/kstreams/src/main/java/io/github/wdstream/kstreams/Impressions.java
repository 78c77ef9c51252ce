package io.github.wdstream.kstreams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Field access on impressions, which stay Jackson trees so that every column (the fixed ones and any
 * number of feature columns) reaches the example unchanged.
 */
final class Impressions {
    static final String IMPRESSION_ID = "impression_id";
    static final String TS = "ts";
    static final String USER_ID = "user_id";
    static final String APP_ID = "app_id";

    private Impressions() {}

    /** The string field {@code name} of {@code imp}, or null when it is absent or not a string. */
    static String text(ObjectNode imp, String name) {
        JsonNode v = imp.get(name);
        return v != null && v.isTextual() ? v.textValue() : null;
    }

    /** The event time of {@code imp}, or -1 (a record Kafka Streams drops) when ts is not an integer. */
    static long ts(ObjectNode imp) {
        JsonNode v = imp.get(TS);
        return v != null && v.canConvertToExactIntegral() && v.canConvertToLong() ? v.longValue() : -1;
    }
}
