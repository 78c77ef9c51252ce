package kafka

import (
	"sort"

	kg "github.com/segmentio/kafka-go"
)

// CoPartitionBalancer is a kafka-go GroupBalancer that gives partition p of
// every subscribed topic to the same member: members sorted by id, partition
// p to member p mod n. Every member must subscribe to the same topics, and
// the topics must have the same partition count (the join stage checks it
// at start), so that a user's impressions and installs meet in one joiner.
type CoPartitionBalancer struct{}

// ProtocolName names the assignment protocol in the group.
func (CoPartitionBalancer) ProtocolName() string { return "wdstream-copartition" }

// UserData is empty.
func (CoPartitionBalancer) UserData() ([]byte, error) { return nil, nil }

// AssignGroups deals partition numbers round-robin over the sorted members.
func (CoPartitionBalancer) AssignGroups(members []kg.GroupMember, partitions []kg.Partition) kg.GroupMemberAssignments {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	sort.Strings(ids)
	out := kg.GroupMemberAssignments{}
	for _, id := range ids {
		out[id] = map[string][]int{}
	}
	if len(ids) == 0 {
		return out
	}
	sorted := append([]kg.Partition(nil), partitions...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Topic != sorted[j].Topic {
			return sorted[i].Topic < sorted[j].Topic
		}
		return sorted[i].ID < sorted[j].ID
	})
	for _, p := range sorted {
		id := ids[p.ID%len(ids)]
		out[id][p.Topic] = append(out[id][p.Topic], p.ID)
	}
	return out
}
