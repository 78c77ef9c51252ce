package io.github.wdstream.kstreams;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/** JSON serdes (Jackson): one JSON object per record value, as in wdstream's topics. */
final class Json {
    /** Thread-safe once configured; shared by every serde. */
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** A serde of {@code type} by Jackson data binding (ObjectNode for impressions, Install). */
    static <T> Serde<T> serde(Class<T> type) {
        Serializer<T> ser = (topic, value) -> {
            if (value == null) {
                return null;
            }
            try {
                return MAPPER.writeValueAsBytes(value);
            } catch (IOException e) {
                throw new SerializationException("encoding " + type.getSimpleName() + " for " + topic, e);
            }
        };
        Deserializer<T> de = (topic, data) -> {
            if (data == null) {
                return null;
            }
            try {
                return MAPPER.readValue(data, type);
            } catch (IOException e) {
                throw new SerializationException("decoding " + type.getSimpleName() + " from " + topic, e);
            }
        };
        return Serdes.serdeFrom(ser, de);
    }

    /**
     * The serde of examples: the impression's members in their order, then {@code label} and
     * {@code install_ts} (null when label is 0) as the last members, the layout of wdstream's examples
     * topic (ingest/doc.go, "Encoding of examples").
     */
    static Serde<Example> exampleSerde() {
        Serializer<Example> ser = (topic, ex) -> {
            if (ex == null) {
                return null;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(768);
            try (JsonGenerator g = MAPPER.createGenerator(out)) {
                g.writeStartObject();
                for (Iterator<Map.Entry<String, JsonNode>> it = ex.impression().fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> f = it.next();
                    g.writeFieldName(f.getKey());
                    g.writeTree(f.getValue());
                }
                g.writeNumberField("label", ex.label());
                g.writeFieldName("install_ts");
                if (ex.installTs() == null) {
                    g.writeNull();
                } else {
                    g.writeNumber(ex.installTs());
                }
                g.writeEndObject();
            } catch (IOException e) {
                throw new SerializationException("encoding an example for " + topic, e);
            }
            return out.toByteArray();
        };
        Deserializer<Example> de = (topic, data) -> {
            if (data == null) {
                return null;
            }
            try {
                ObjectNode node = MAPPER.readValue(data, ObjectNode.class);
                JsonNode label = node.remove("label");
                JsonNode installTs = node.remove("install_ts");
                if (label == null || !label.canConvertToInt()) {
                    throw new SerializationException("an example from " + topic + " without an integer label");
                }
                Long its = installTs == null || installTs.isNull() ? null : installTs.longValue();
                return new Example(node, label.intValue(), its);
            } catch (IOException e) {
                throw new SerializationException("decoding an example from " + topic, e);
            }
        };
        return Serdes.serdeFrom(ser, de);
    }
}
