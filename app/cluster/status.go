package cluster

import (
	"context"
	"sort"
	"time"

	"auditlog/app"

	"github.com/nats-io/nats.go/jetstream"
)

// Status is what this node knows of the cluster, for /healthz and the page.
// The app defines it so that they need not import the engine.
type Status = app.ClusterStatus

// NodeStatus is one replica of the stream as its leader sees it.
type NodeStatus = app.ClusterNode

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
			routed := n.routed()
			s.Nodes = append(s.Nodes, NodeStatus{Name: c.Leader, Leader: true, Up: true, Current: true})
			for _, p := range c.Replicas {
				s.Nodes = append(s.Nodes, NodeStatus{Name: p.Name, Up: peerUp(p, routed), Current: p.Current, Lag: p.Lag, Seen: p.Active})
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

// peerUp tells whether a replica of the stream answers, as its leader
// reports it and, where the node runs the server itself, as its routes
// do (routed is nil where it does not). A leader elected after a peer
// died has never heard from it: it reports it neither offline nor idle
// (its last activity is unknown, read as 0) until much later, so a node
// killed with its machine read as up for minutes. A peer this server has
// no route to is down, whatever the leader says.
func peerUp(p *jetstream.PeerInfo, routed map[string]bool) bool {
	if p.Offline || p.Active >= 10*time.Second {
		return false
	}
	return routed == nil || routed[p.Name]
}

// routed names the servers this node's own server has a route to; nil
// when it runs none (an external NATS).
func (n *Node) routed() map[string]bool {
	if n.srv == nil {
		return nil
	}
	rz, err := n.srv.Routez(nil)
	if err != nil {
		return nil
	}
	routed := map[string]bool{n.srv.Name(): true}
	for _, r := range rz.Routes {
		routed[r.RemoteName] = true
	}
	return routed
}
