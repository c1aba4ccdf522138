package cluster

import (
	"context"
	"sort"
	"time"
)

// Status is what this node knows of the cluster, for /healthz and the page.
type Status struct {
	Mode     string       `json:"mode"` // "embedded" or "external"
	Node     string       `json:"node"` // this node's name
	Stream   string       `json:"stream"`
	Replicas int          `json:"replicas"`
	Known    int          `json:"known"`   // nodes --cluster names (0 with an external engine)
	Nodes    []NodeStatus `json:"nodes"`   // the stream's replicas, by name
	Applied  uint64       `json:"applied"` // the last stream sequence in this node's store
	Last     uint64       `json:"last"`    // the stream's last sequence, as last heard
	Lag      uint64       `json:"lag"`     // Last - Applied: messages this node has still to apply
	Quorum   bool         `json:"quorum"`  // the stream has a leader: writes are acknowledged
	Error    string       `json:"error,omitempty"`
}

// NodeStatus is one replica of the stream as its leader sees it.
type NodeStatus struct {
	Name    string        `json:"name"`
	Leader  bool          `json:"leader"`
	Up      bool          `json:"up"`
	Current bool          `json:"current"` // holds everything the leader has
	Lag     uint64        `json:"lag"`     // messages behind the leader
	Seen    time.Duration `json:"seen"`    // since the leader last heard from it
}

// Status asks the stream's leader about the replicas. Without a quorum there
// is no leader to ask: Quorum is false and Nodes lists what the routes say.
func (n *Node) Status(ctx context.Context) Status {
	s := Status{Mode: "embedded", Node: n.cfg.Name, Stream: n.cfg.Stream, Replicas: n.cfg.Replicas, Known: len(n.cfg.Routes), Applied: n.Applied()}
	if n.srv == nil {
		s.Mode = "external"
		s.Node = n.nc.ConnectedServerName()
	}
	s.Last = max(n.last.Load(), s.Applied)
	select {
	case <-n.ready:
		s.Replicas = n.replicas // settled by setup, before ready
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := n.stream.Info(ctx)
		if err != nil {
			s.Error = err.Error()
			break
		}
		s.Last = max(s.Last, info.State.LastSeq)
		if c := info.Cluster; c != nil && c.Leader != "" {
			s.Nodes = append(s.Nodes, NodeStatus{Name: c.Leader, Leader: true, Up: true, Current: true})
			for _, p := range c.Replicas {
				s.Nodes = append(s.Nodes, NodeStatus{Name: p.Name, Up: !p.Offline && p.Active < 10*time.Second, Current: p.Current, Lag: p.Lag, Seen: p.Active})
			}
			// A leader that lost its peers answers until it steps down:
			// count who is up.
			up := 0
			for _, x := range s.Nodes {
				if x.Up {
					up++
				}
			}
			s.Quorum = 2*up > len(s.Nodes)
		} else if c == nil {
			s.Quorum = true // a server of its own, not clustered
			s.Nodes = []NodeStatus{{Name: s.Node, Leader: true, Up: true, Current: true}}
		}
	default:
		if p := n.setupErr.Load(); p != nil {
			s.Error = (*p).Error()
		} else {
			s.Error = "joining the stream"
		}
	}
	if len(s.Nodes) == 0 && n.srv != nil {
		s.Nodes = append(s.Nodes, NodeStatus{Name: s.Node, Up: true})
		if rz, err := n.srv.Routez(nil); err == nil {
			seen := map[string]bool{s.Node: true}
			for _, r := range rz.Routes {
				if !seen[r.RemoteName] {
					seen[r.RemoteName] = true
					s.Nodes = append(s.Nodes, NodeStatus{Name: r.RemoteName, Up: true})
				}
			}
		}
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	s.Lag = s.Last - s.Applied
	return s
}
