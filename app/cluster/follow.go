package cluster

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"auditlog/app"

	"github.com/nats-io/nats.go/jetstream"
)

// What the stream's messages imply outside the local store is kept up by
// one goroutine per node, the follower, apart from the loop that applies
// the stream: copies of the workspace state into the state bucket, and the
// stream's MaxAge. Both need the other nodes (a quorum of the bucket's or
// the stream's replicas), so either may fail for a while; applying must not
// wait on them, and a failure must not be forgotten.
//
// A state change is copied from a record the apply writes in the same
// transaction as the change itself, and the record is deleted only once the
// bucket holds the change or a later one. So a copy that fails is tried
// again until it lands, across restarts too: the bucket misses a change only
// while some node still holds its record. Before, each copy was tried for
// two seconds when the change was applied, and a failure on every node (the
// bucket without a leader for those two seconds) left the bucket without it
// for good, and a node rebuilt after the stream forgot the message without
// the token or setting it carried.

// stateCopies is the local store's kind for state changes not yet copied
// into the bucket: copyKey(seq, i) → the change (JSON wireState).
const stateCopies app.StateKind = "cluster_copies"

// copyKey names the i-th state change of stream message seq; keys sort in
// stream order.
func copyKey(seq uint64, i int) string {
	b := binary.BigEndian.AppendUint64(nil, seq)
	return string(binary.BigEndian.AppendUint32(b, uint32(i)))
}

// copyRecords are the records of the changes message seq carried.
func copyRecords(seq uint64, state []wireState) []app.StateValue {
	out := make([]app.StateValue, len(state))
	for i, v := range state {
		data, _ := json.Marshal(v)
		out[i] = app.StateValue{Kind: stateCopies, Key: copyKey(seq, i), Value: data}
	}
	return out
}

// Retry waits of the follower after a failure: from the first to the last,
// doubling.
const (
	followRetryFirst = 250 * time.Millisecond
	followRetryLast  = 30 * time.Second
)

// errBehind: this node has not applied all the stream holds, so its
// retention may be older than the workspace's.
var errBehind = errors.New("this node has not applied the whole stream yet")

// wakeFollower asks the follower to look again; it never blocks.
func (n *Node) wakeFollower() {
	select {
	case n.followWake <- struct{}{}:
	default:
	}
}

// follow runs the follower until the node closes. It starts once the stream
// and the bucket are there, and looks at once: records left by an earlier
// run, and a MaxAge an earlier run did not get to set.
func (n *Node) follow() {
	defer n.wg.Done()
	wait := time.Duration(0)
	failing := false
	for {
		err := n.followOnce()
		switch {
		case err == nil:
			if failing {
				n.logger.Info("the state bucket and the stream's retention are up to date again")
			}
			wait, failing = 0, false
		case errors.Is(err, errBehind):
			wait = 0 // applying the rest wakes the follower
		default:
			if !failing {
				n.logger.Warn("unable to copy workspace state into the state bucket or set the stream's retention; trying again until it works", "err", err)
			}
			failing = true
			wait = min(max(2*wait, followRetryFirst), followRetryLast)
		}
		var retry <-chan time.Time
		if wait > 0 {
			retry = time.After(wait)
		}
		select {
		case <-n.done:
			return
		case <-n.followWake:
		case <-retry:
		}
	}
}

// followOnce copies what is waiting, then sets the stream's MaxAge if due.
func (n *Node) followOnce() error {
	if err := n.copyWaiting(); err != nil {
		return err
	}
	if !n.retentionDue.Swap(false) {
		return nil
	}
	err := n.followRetention()
	if err != nil {
		n.retentionDue.Store(true)
	}
	return err
}

// copyWaiting copies every recorded change into the bucket, oldest first,
// and deletes the records of those copied.
func (n *Node) copyWaiting() error {
	waiting, err := n.local.States(n.ctx(), stateCopies)
	if err != nil || len(waiting) == 0 {
		return err
	}
	var copied []app.StateValue
	defer func() {
		if len(copied) > 0 {
			if _, derr := n.local.Commit(context.Background(), app.Commit{State: copied}); derr != nil {
				n.logger.Warn("unable to note state changes as copied; they will be copied again", "err", derr)
			}
		}
	}()
	for _, rec := range waiting {
		var w wireState
		if len(rec.Key) != 12 || json.Unmarshal(rec.Value, &w) != nil {
			n.logger.Error("dropping an unreadable record of a state change to copy", "key", hex.EncodeToString([]byte(rec.Key)))
		} else if err := n.saveState(binary.BigEndian.Uint64([]byte(rec.Key)), fromWire([]wireState{w})[0]); err != nil {
			return err
		}
		copied = append(copied, app.StateValue{Kind: stateCopies, Key: rec.Key})
	}
	return nil
}

// saveState copies a state change into the bucket unless it already holds
// that or a later one. Every node does it, so one that is down or slow does
// not leave the bucket behind.
func (n *Node) saveState(seq uint64, v app.StateValue) error {
	ctx, cancel := context.WithTimeout(n.ctx(), 5*time.Second)
	defer cancel()
	key := bucketKey(v.Kind, v.Key)
	val, _ := json.Marshal(stateValue{Seq: seq, Value: v.Value})
	var err error
	// Another node copying the same key between the read and the write
	// fails the write: read again.
	for range 5 {
		var cur jetstream.KeyValueEntry
		cur, err = n.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = n.kv.Create(ctx, key, val)
		case err == nil:
			var sv stateValue
			if json.Unmarshal(cur.Value(), &sv) == nil && sv.Seq >= seq {
				return nil
			}
			_, err = n.kv.Update(ctx, key, val, cur.Revision())
		}
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("state bucket key %s (stream sequence %d): %w", key, seq, err)
	}
	return nil
}

// followRetention sets the stream's MaxAge to the workspace retention, once
// this node has applied all the stream holds. A node still replaying holds
// the retention of some moment past: setting that could shorten the stream
// below what the workspace keeps, and the stream would forget messages no
// rebuilt node could then get back.
func (n *Node) followRetention() error {
	ctx, cancel := context.WithTimeout(n.ctx(), 5*time.Second)
	defer cancel()
	info, err := n.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", n.cfg.Stream, err)
	}
	if info.State.LastSeq > n.Applied() {
		return errBehind
	}
	d := n.localRetention()
	if info.Config.MaxAge == d {
		return nil
	}
	c := info.Config
	c.MaxAge = d
	if _, err := n.js.UpdateStream(ctx, c); err != nil {
		return fmt.Errorf("keeping the stream's messages for the retention, %s: %w", d, err)
	}
	return nil
}
