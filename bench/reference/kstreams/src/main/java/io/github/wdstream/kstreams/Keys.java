package io.github.wdstream.kstreams;

/**
 * The join key: user_id and app_id, joined by '|'. Both topics are keyed by user_id (README, "Kafka topics
 * and keys"), so the join re-keys (and repartitions) both. The key need not be injective ("a|b" + "c" and
 * "a" + "b|c" collide): the joiner compares user and app again.
 *
 * <p>bench/join-kstreams.sh's Go test hashes this key (murmur2, as Kafka Streams' default partitioner does)
 * to reach every partition of the repartition topics with its end-of-input records: change both together.
 */
final class Keys {
    private Keys() {}

    static String userApp(String userId, String appId) {
        return userId + "|" + appId;
    }
}
