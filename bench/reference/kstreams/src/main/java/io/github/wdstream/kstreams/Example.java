package io.github.wdstream.kstreams;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A labeled impression, as wdstream's {@code examples} topic holds it: the impression's columns, then
 * {@code label} (0 or 1) and {@code install_ts} (the install's ts when label is 1, else null).
 */
public record Example(ObjectNode impression, int label, Long installTs) {

    static Example negative(ObjectNode imp) {
        return new Example(imp, 0, null);
    }

    static Example positive(ObjectNode imp, long installTs) {
        return new Example(imp, 1, installTs);
    }

    String impressionId() {
        return Impressions.text(impression, Impressions.IMPRESSION_ID);
    }

    String userId() {
        return Impressions.text(impression, Impressions.USER_ID);
    }

}
