package cluster

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// again until it lands, across restarts too. Before, each copy was tried for
// two seconds when the change was applied, and a failure on every node (the
// bucket without a leader for those two seconds) left the bucket without it
// for good, and a node rebuilt after the stream forgot the message without
// the token or setting it carried.
//
// A bucket that was lost and made again is empty: records copy only what
// changed since. So the bucket holds a key, seededKey, written once it holds
// the whole state; a follower that finds it missing copies its node's whole
// replicated state (once that node has applied all the stream holds), then
// writes it.

// stateCopies is the local store's kind for state changes not yet copied
// into the bucket: copyKey(seq, i) → the change (JSON wireState).
const stateCopies app.StateKind = "cluster_copies"

// seededKey is the bucket's key that says it holds the whole state. State
// keys are kind.hex, so it cannot be one.
const seededKey = "seeded"

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

// errBehind: this node has not applied all the stream holds, so its state
// may be older than the workspace's.
var errBehind = errors.New("this node has not applied the whole stream yet")

// wakeFollower asks the follower to look again; it never blocks.
func (n *Node) wakeFollower() {
	select {
	case n.followWake <- struct{}{}:
	default:
	}
}

// retentionDue reports whether the stream's MaxAge may differ from the
// retention: a change was applied since the follower last set it.
func (n *Node) retentionDue() bool { return n.retentionWant.Load() != n.retentionDone.Load() }

// follow runs the follower until the node closes. It starts once the stream
// and the bucket are there, and looks at once: records left by an earlier
// run, a bucket that lost its state, a MaxAge an earlier run did not set.
func (n *Node) follow() {
	defer n.wg.Done()
	var wait time.Duration
	failing, seeded := false, false
	for {
		err := n.followOnce(&seeded)
		switch {
		case n.isClosing():
			return
		case err == nil:
			if failing {
				n.logger.Info("the state bucket and the stream's retention are up to date again")
			}
			wait, failing = 0, false
		case errors.Is(err, errBehind):
			// Applying the rest wakes the follower; the stream may also
			// have moved on while this node was asking.
			wait = stallCheck
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

// followOnce copies what is waiting, seeds the bucket unless seeded says it
// holds the whole state, and sets the stream's MaxAge if due. errBehind is
// returned only when nothing else failed.
func (n *Node) followOnce(seeded *bool) error {
	errCopy := n.copyWaiting()
	var errSeed error
	if errCopy != nil {
		*seeded = false // the bucket may have been lost: look again
	} else if !*seeded {
		errSeed = n.seedBucket()
		*seeded = errSeed == nil
	}
	var errRetention error
	if want := n.retentionWant.Load(); want != n.retentionDone.Load() {
		if errRetention = n.followRetention(); errRetention == nil {
			n.retentionDone.Store(want)
		}
	}
	var behind bool
	var errs []error
	for _, err := range []error{errCopy, errSeed, errRetention} {
		if errors.Is(err, errBehind) {
			behind = true
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && behind {
		return errBehind
	}
	return errors.Join(errs...)
}

// copyWaiting copies every recorded change into the bucket, oldest first,
// and deletes the records of those copied. It stops at the first that
// fails: the bucket is most likely out of reach for the rest too.
func (n *Node) copyWaiting() (err error) {
	waiting, err := n.local.States(n.ctx(), stateCopies)
	if err != nil || len(waiting) == 0 {
		return err
	}
	var copied []app.StateValue
	defer func() {
		if len(copied) == 0 {
			return
		}
		// Through the path the records were written by.
		if _, derr := n.local.CommitAll(context.Background(), []app.Commit{{State: copied}}); derr != nil {
			err = errors.Join(err, fmt.Errorf("noting state changes as copied: %w", derr))
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

// seedBucket makes sure the bucket holds the whole state: unless it holds
// seededKey, it copies this node's replicated state into it as of the
// sequence applied, deletes what the bucket holds and this node does not,
// and writes seededKey. Only a node that has applied all the stream holds
// may: another's state is older. A change applied meanwhile is tagged with
// a sequence older than its own here, so its record's copy still wins.
func (n *Node) seedBucket() error {
	ctx, cancel := context.WithTimeout(n.ctx(), 5*time.Second)
	defer cancel()
	if _, err := n.kv.Get(ctx, seededKey); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("state bucket: %w", err)
	}
	if _, err := n.caughtUp(ctx); err != nil {
		return err
	}
	applied := n.Applied()
	held := map[string]bool{}
	for _, kind := range app.StateKinds {
		state, err := n.local.States(n.ctx(), kind)
		if err != nil {
			return err
		}
		for _, v := range state {
			if v.NodeLocal() {
				continue
			}
			held[bucketKey(v.Kind, v.Key)] = true
			if err := n.saveState(applied, v); err != nil {
				return err
			}
		}
	}
	ctx, cancel = context.WithTimeout(n.ctx(), 5*time.Second)
	defer cancel()
	lister, err := n.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("state bucket: %w", err)
	}
	var gone []app.StateValue
	for key := range lister.Keys() {
		kind, hexKey, ok := strings.Cut(key, ".")
		raw, herr := hex.DecodeString(hexKey)
		if ok && herr == nil && !held[key] {
			gone = append(gone, app.StateValue{Kind: app.StateKind(kind), Key: string(raw)})
		}
	}
	for _, v := range gone {
		if err := n.saveState(applied, v); err != nil {
			return err
		}
	}
	ctx, cancel = context.WithTimeout(n.ctx(), 5*time.Second)
	defer cancel()
	if _, err := n.kv.Put(ctx, seededKey, []byte(strconv.FormatUint(applied, 10))); err != nil {
		return fmt.Errorf("state bucket: %w", err)
	}
	n.logger.Info("copied the whole workspace state into the state bucket", "pieces", len(held), "deleted", len(gone), "as_of", applied)
	return nil
}

// caughtUp asks the stream for its last sequence and waits a little for
// this node to have applied it: errBehind when it has not. Applying that
// much makes this node's state at least as new as every message the stream
// held then, whatever the stream answered with it (its MaxAge).
func (n *Node) caughtUp(ctx context.Context) (*jetstream.StreamInfo, error) {
	info, err := n.stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", n.cfg.Stream, err)
	}
	wctx, cancel := context.WithTimeout(ctx, stallCheck)
	defer cancel()
	if !n.waitApplied(wctx, info.State.LastSeq) {
		return nil, errBehind
	}
	return info, nil
}

// followRetention sets the stream's MaxAge to the workspace retention, once
// this node has applied all the stream holds. A node still replaying holds
// the retention of some moment past: setting that could shorten the stream
// below what the workspace keeps, and the stream would forget messages no
// rebuilt node could then get back.
func (n *Node) followRetention() error {
	ctx, cancel := context.WithTimeout(n.ctx(), 5*time.Second)
	defer cancel()
	info, err := n.caughtUp(ctx)
	if err != nil {
		return err
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
