package app

import "time"

// ClusterStatus is what one node of a cluster knows of it: the nodes, which
// are up, and how far this node has applied the replicated log. The cluster
// package fills it; /healthz and the page show it without depending on the
// replication engine.
type ClusterStatus struct {
	Mode     string        `json:"mode"` // "embedded" or "external"
	Node     string        `json:"node"` // this node's name
	Stream   string        `json:"stream"`
	Replicas int           `json:"replicas"`
	Known    int           `json:"known"`   // nodes --cluster names (0 with an external engine)
	Nodes    []ClusterNode `json:"nodes"`   // the stream's replicas, by name
	Applied  uint64        `json:"applied"` // the last stream sequence in this node's store
	Last     uint64        `json:"last"`    // the stream's last sequence, as last heard
	Lag      uint64        `json:"lag"`     // Last - Applied: messages this node has still to apply
	Quorum   bool          `json:"quorum"`  // the stream has a leader: writes are acknowledged
	Error    string        `json:"error,omitempty"`
}

// ClusterNode is one replica of the stream as its leader sees it.
type ClusterNode struct {
	Name    string `json:"name"`
	Leader  bool   `json:"leader"`
	Up      bool   `json:"up"`
	Current bool   `json:"current"` // holds everything the leader has
	Lag     uint64 `json:"lag"`     // messages behind the leader
	// Seen is how long ago the leader last heard from it; the page's
	// business, not the API's.
	Seen time.Duration `json:"-"`
}
