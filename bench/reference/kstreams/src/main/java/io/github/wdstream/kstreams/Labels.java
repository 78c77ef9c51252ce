package io.github.wdstream.kstreams;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The value joiner of the windowed left join. wdstream's rule (ingest/join, DESIGN.md): an install that
 * carries impression_id labels that impression; one without it labels the latest impression of the same
 * user and app whose window holds it; a second install never makes a second positive. A stream-stream join
 * sees one (impression, install) pair at a time, so this decides what one pair says:
 *
 * <ul>
 *   <li>no install in the window (the left join's null, emitted once the window and grace have passed):
 *       label 0;
 *   <li>an install naming this impression: label 1;
 *   <li>an install naming another impression of the same user and app: label 0 (the pair exists because
 *       the key is user and app; it says nothing about this impression);
 *   <li>an install without impression_id: label 1 for <em>every</em> impression of the user and app whose
 *       window holds it, where wdstream labels only the latest.
 * </ul>
 *
 * Every pair is a record: an impression with two installs in its window gets two examples.
 */
final class Labels {
    private Labels() {}

    static Example label(ObjectNode imp, Install in) {
        if (in == null) {
            return Example.negative(imp);
        }
        if (in.attributed()) {
            return in.impressionId().equals(Impressions.text(imp, Impressions.IMPRESSION_ID))
                    ? Example.positive(imp, in.ts())
                    : Example.negative(imp);
        }
        boolean same = in.userId().equals(Impressions.text(imp, Impressions.USER_ID))
                && in.appId().equals(Impressions.text(imp, Impressions.APP_ID));
        return same ? Example.positive(imp, in.ts()) : Example.negative(imp);
    }
}
