package ui

import (
	"context"
	"fmt"
	"time"
)

// clusterView is the Audit Log page's small section on the cluster, when
// the Log runs on a node of one.
type clusterView struct {
	Summary  string
	NoQuorum bool
	Error    string
	Nodes    []clusterNodeView
}

type clusterNodeView struct {
	Name    string
	This    bool
	Leader  bool
	Up      bool
	Applied string // the stream sequence it holds, as the leader sees it
	Lag     string
}

// clusterView asks the node, briefly: the page must not wait on a cluster
// that lost its leader.
func (s *Server) clusterView(ctx context.Context) *clusterView {
	if s.Cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st := s.Cluster(ctx)
	v := &clusterView{NoQuorum: !st.Quorum, Error: st.Error}
	up := 0
	for _, n := range st.Nodes {
		nv := clusterNodeView{Name: n.Name, This: n.Name == st.Node, Leader: n.Leader, Up: n.Up, Applied: "—", Lag: "—"}
		if n.Up {
			up++
		}
		switch {
		case nv.This:
			nv.Applied, nv.Lag = groupThousands(int(st.Applied)), groupThousands(int(st.Lag))
		case st.Quorum && st.Last >= n.Lag:
			nv.Applied, nv.Lag = groupThousands(int(st.Last-n.Lag)), groupThousands(int(n.Lag))
		}
		v.Nodes = append(v.Nodes, nv)
	}
	total := len(st.Nodes)
	if st.Known > total {
		total = st.Known
	}
	v.Summary = fmt.Sprintf("Cluster: %d of %d nodes up; this node, %s, has applied the log to sequence %s, %s behind", up, total, st.Node, groupThousands(int(st.Applied)), groupThousands(int(st.Lag)))
	if v.NoQuorum {
		v.Summary = fmt.Sprintf("Cluster without a quorum: %d of %d nodes answer, so new entries are refused until more are back", up, total)
	}
	return v
}
