package cluster

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A replica is up only when its leader has heard from it lately and, where
// this node runs the server, a route to it stands: a leader elected after a
// peer was killed reports it neither offline nor idle for minutes.
func TestAReplicaWithoutARouteIsDownWhateverItsLeaderSays(t *testing.T) {
	routed := map[string]bool{"n1": true, "n2": true}
	for _, tc := range []struct {
		name   string
		p      jetstream.PeerInfo
		routed map[string]bool
		up     bool
	}{
		{"heard lately and routed", jetstream.PeerInfo{Name: "n2", Current: true, Active: time.Second}, routed, true},
		{"killed before this leader was elected", jetstream.PeerInfo{Name: "n3"}, routed, false},
		{"offline", jetstream.PeerInfo{Name: "n2", Offline: true}, routed, false},
		{"not heard for long", jetstream.PeerInfo{Name: "n2", Active: time.Minute}, routed, false},
		{"an external server's replica (no routes known)", jetstream.PeerInfo{Name: "n3", Active: time.Second}, nil, true},
	} {
		if got := peerUp(&tc.p, tc.routed); got != tc.up {
			t.Errorf("%s: up = %v, want %v", tc.name, got, tc.up)
		}
	}
}
