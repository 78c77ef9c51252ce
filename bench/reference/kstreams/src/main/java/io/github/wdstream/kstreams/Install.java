package io.github.wdstream.kstreams;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * An install event of the {@code installs} topic (DESIGN.md, "Events"): {@code ts} (event time, Unix
 * milliseconds) is required; {@code impression_id} is the join key when present, otherwise
 * {@code user_id} and {@code app_id} are. Other keys are ignored, as wdstream's decoder ignores them.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Install(
        @JsonProperty("ts") Long ts,
        @JsonProperty("impression_id") String impressionId,
        @JsonProperty("user_id") String userId,
        @JsonProperty("app_id") String appId) {

    /** Whether the install names the impression it follows (null and "" both mean absent). */
    boolean attributed() {
        return impressionId != null && !impressionId.isEmpty();
    }

    /** Whether the install can be keyed by user and app. */
    boolean hasUserAndApp() {
        return userId != null && !userId.isEmpty() && appId != null && !appId.isEmpty();
    }
}
