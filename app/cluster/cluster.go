// Package cluster runs the Audit Log as several nodes over NATS JetStream: a
// replicated, ordered log (RAFT) that every node applies into its own bbolt
// store, so any node answers searches, pages and exports.
//
// A Node implements app.Store. Reads (Get, Walk, Read, Counts, Pending, Scan,
// State, ...) are served from the node's local store. Commit does not store
// anything itself: it publishes the commit to the stream, waits until a
// quorum holds it (the PubAck), then waits until this node has applied that
// stream sequence, so a writer reads its own write. Without a quorum Commit
// fails with app.EUNAVAILABLE (503) and nothing is acknowledged.
//
// # How serve wires it in
//
// Single node stays as it is (store.Open, no NATS). When any of the cluster
// flags is given, serve opens a Node instead of the bbolt store and hands it
// to the Log; the index stays beside it in the data directory:
//
//	node, err := cluster.Open(cluster.Config{
//		Listen:       clusterListen,                 // --cluster-listen 0.0.0.0:6222
//		Routes:       splitComma(clusterRoutes),     // --cluster host1:6222,host2:6222,host3:6222
//		NATSListen:   natsListen,                    // --nats-listen (flag default 127.0.0.1:4222)
//		ExternalURLs: splitComma(natsURLs),          // --nats nats://host:4222,... (instead of the three above)
//		Credentials:  natsCreds,                     // --nats-creds  a .creds file (external)
//		TLSCert:      natsCert, TLSKey: natsKey,     // --nats-tls-cert, --nats-tls-key (external)
//		TLSCA:        natsCA,                        // --nats-tls-ca (external)
//		DataDir:      dataDir,                       // --data
//		Logger:       logger,
//	})
//	if err != nil { ... }
//	log, err := app.Open(app.Config{Store: node, OpenIndex: ..., Retention: ..., Operator: ...})
//	// /healthz and the page: node.Status(ctx)
//	// shutdown: log.Close() closes the node (the Log closes its store).
//
// --cluster lists every node, this one too, with the same list on every node:
// three or more nodes replicate the stream three times (R3), fewer once.
// Replicas overrides that. --cluster without --cluster-listen is refused, and
// so is --cluster with --nats. --nats joins an existing NATS deployment
// instead of embedding a server (user and password, token, .creds file and
// TLS as NATS users expect); the stream is then R3 when that deployment is a
// cluster. Name (the node's name among the others) defaults to the host name
// and the cluster port, which stays the same across restarts. The embedded
// server keeps its JetStream files in DataDir/nats, beside the store and the
// index.
//
// A change made on another node reaches this node's store at once (tokens
// work or stop at once: they are read from the store on every request). The
// Log keeps its settings and retention in memory, so serve's OnState calls
// Log.ReloadState when a setting changes.
//
// # What is guaranteed
//
// An acknowledged write is on a quorum of the stream's replicas, in one order
// every node applies. A write refused for want of a quorum after its publish
// went out may still be stored if the quorum comes back before the proposal
// is dropped: entries sent with ids are idempotent (JetStream drops a repeat
// within two minutes, and every node's store keeps the first entry of an id
// within the retention), so a client that retries with the same ids never
// gets a duplicate. Another node shows an entry once it has applied it,
// usually well within a second (TestLoad measures it).
//
// # Workspace state
//
// Tokens and settings change together with the entry that records the change
// (app.Commit carries both). Writing them as two things (a key-value put,
// then the entry) can part them on a crash in between: a token that works but
// whose creation was never recorded, or an entry for a token that does not
// exist. So the stream message carries both, one RAFT proposal, and each node
// applies both in one bbolt transaction. The stream forgets messages after the
// retention (its MaxAge follows it, set by a node that has applied the whole
// stream), and with them the state changes they carried; so every node, once
// it has applied a state change, also copies it into a replicated key-value
// bucket (one key per piece of state, tagged with the stream sequence it came
// from, never going backwards), retrying until it lands (follow.go). A node
// that finds a gap before the stream's first message (its data directory was
// lost, or it was down longer than the retention) loads the state from that
// bucket before replaying what the stream still holds. The bucket is derived from the
// stream, so it can lag it, never contradict it.
//
// State that describes a copy of the log rather than the workspace
// (app.StateValue.NodeLocal: the app's notes, this node's index generation,
// and the checkpoints each node signs of its own chain with its own key)
// stays local. Every node computes the same chain, since it applies the same
// entries with the same ids and received_at in the same order.
package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"auditlog/app"
	"auditlog/app/store"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config says how a node joins the cluster. Either Routes (the embedded
// engine: this process runs a NATS server) or ExternalURLs (an existing NATS
// deployment) is set; with neither, the node embeds a NATS server of its own,
// a cluster of one.
type Config struct {
	// Name is this node's name in the cluster, unique and stable across
	// restarts (JetStream knows its replicas by it). Default: the host name
	// and the cluster port.
	Name string
	// Listen is where the embedded server takes routes from the other nodes
	// (--cluster-listen), host:port.
	Listen string
	// Routes are every node's route address, host:port, this node's too
	// (--cluster).
	Routes []string
	// NATSListen is the embedded server's client port (--nats-listen),
	// host:port, for NATS tools; empty: a free port on loopback (this
	// process connects in process).
	NATSListen string
	// ExternalURLs joins an existing NATS deployment (--nats).
	ExternalURLs []string
	// Credentials is a NATS .creds file (user JWT and nkey seed); User and
	// Password or Token are the plain alternatives.
	Credentials    string
	User, Password string
	Token          string
	// TLSCert and TLSKey are a client certificate, TLSCA the roots to trust
	// the servers with.
	TLSCert, TLSKey, TLSCA string
	// DataDir holds the local store (and the embedded server's JetStream files).
	DataDir string
	// Replicas of the stream and the state bucket; zero decides by the number
	// of nodes: 3 from three on, else 1.
	Replicas int
	// Stream names the stream; the state bucket is named after it. Default
	// "auditlog". Several workspaces can share one NATS deployment this way.
	Stream string
	// WriteTimeout bounds how long a Commit waits for a quorum. Default 5 s.
	WriteTimeout time.Duration
	// ApplyWait bounds how long a Commit, once acknowledged, waits for this
	// node to apply it before returning the entries as published. Default 5 s.
	ApplyWait time.Duration
	// OnState, if set, hears every replicated state change this node applies
	// (a setting or a token changed on any node), after it is stored.
	OnState func(app.StateValue)
	Logger  *slog.Logger
}

// Node is one member of the cluster. It implements app.Store.
type Node struct {
	cfg      Config
	local    *store.Store
	srv      *server.Server // nil with an external engine
	nc       *nats.Conn
	js       jetstream.JetStream
	subject  string
	replicas int
	logger   *slog.Logger

	ready    chan struct{} // closed once the stream and the bucket are there
	stream   jetstream.Stream
	kv       jetstream.KeyValue
	setupErr atomic.Pointer[error]

	mu       sync.Mutex
	applied  uint64          // the last stream sequence in the local store
	advanced chan struct{}   // closed and replaced whenever applied moves
	stale    map[uint64]bool // of the latest commits, those not applied: their state had changed (see record.Prior)
	last     atomic.Uint64   // the highest stream sequence this node has heard of

	onApplied, onAcked hook // the load test times replication with them

	// The follower (follow.go) keeps the state bucket and the stream's
	// MaxAge up with what this node applied.
	followWake chan struct{}
	// A retention change applied bumps retentionWant; the follower sets
	// retentionDone to what it has set MaxAge for.
	retentionWant, retentionDone atomic.Uint64

	base   context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

var _ app.Store = (*Node)(nil)

// stateCluster is the local store's own kind for the node's bookkeeping.
const stateCluster app.StateKind = "cluster"

// stallCheck is how often a node whose applied sequence stands still asks
// whether the stream has moved on without it.
const stallCheck = 2 * time.Second

// applyBatch bounds how many stream messages one local transaction applies.
const applyBatch = 512

const (
	keyApplied    = "applied"
	metaRetention = "retention" // app's key: the stream's MaxAge follows it
	defaultStream = "auditlog"
)

// Open opens the local store in cfg.DataDir, starts (or connects to) NATS
// and returns at once; joining the stream and catching up go on in the
// background. Reads work from the local store meanwhile; a Commit waits up to
// WriteTimeout for the stream.
func Open(cfg Config) (*Node, error) {
	if cfg.DataDir == "" {
		return nil, app.Errorf(app.EINVALID, "cluster: a data directory is required")
	}
	if len(cfg.ExternalURLs) > 0 && len(cfg.Routes) > 0 {
		return nil, app.Errorf(app.EINVALID, "--nats joins an existing NATS deployment; --cluster embeds one: give one of them")
	}
	if cfg.Stream == "" {
		cfg.Stream = defaultStream
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.ApplyWait <= 0 {
		cfg.ApplyWait = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	local, err := store.OpenReporting(cfg.DataDir, func(size int64) {
		cfg.Logger.Info("the last run did not end cleanly: checking every page of the store before starting", "megabytes", size>>20)
	})
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, local: local, subject: cfg.Stream + ".commits", logger: cfg.Logger.With("component", "cluster"),
		ready: make(chan struct{}), advanced: make(chan struct{}), done: make(chan struct{}),
		followWake: make(chan struct{}, 1),
	}
	n.base, n.cancel = context.WithCancel(context.Background())
	if v, ok, err := local.State(context.Background(), stateCluster, keyApplied); err != nil {
		local.Close()
		return nil, err
	} else if ok && len(v) == 8 {
		n.applied = binary.BigEndian.Uint64(v)
		n.last.Store(n.applied)
	}
	if err := n.connect(); err != nil {
		n.shutdownEngine()
		local.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.run()
	return n, nil
}

// connect starts the embedded server, or dials the external one.
func (n *Node) connect() error {
	cfg := n.cfg
	var opts []nats.Option
	opts = append(opts, nats.Name("auditlog "+cfg.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if len(cfg.ExternalURLs) == 0 {
		srv, err := n.startServer()
		if err != nil {
			return err
		}
		n.srv = srv
		n.replicas = 1
		if len(cfg.Routes) >= 3 {
			n.replicas = 3
		}
		opts = append(opts, nats.InProcessServer(srv))
	} else {
		if cfg.Credentials != "" {
			opts = append(opts, nats.UserCredentials(cfg.Credentials))
		}
		if cfg.User != "" {
			opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
		}
		if cfg.Token != "" {
			opts = append(opts, nats.Token(cfg.Token))
		}
		if cfg.TLSCert != "" || cfg.TLSKey != "" {
			opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
		}
		if cfg.TLSCA != "" {
			opts = append(opts, nats.RootCAs(cfg.TLSCA))
		}
		// Keep trying at start too: the deployment may come up after us.
		// Said in the log, both ways: until then writes wait and then fail.
		opts = append(opts, nats.RetryOnFailedConnect(true),
			nats.ConnectHandler(func(nc *nats.Conn) {
				n.logger.Info("connected to NATS", "url", nc.ConnectedUrlRedacted())
			}))
	}
	url := strings.Join(cfg.ExternalURLs, ",")
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("cluster: unable to connect to NATS at %s: %w", url, err)
	}
	if len(cfg.ExternalURLs) > 0 && !nc.IsConnected() {
		n.logger.Warn("not connected to NATS yet; trying again, and writes wait for it (a few seconds each, then fail)", "url", url)
	}
	n.nc = nc
	if cfg.Replicas > 0 {
		n.replicas = cfg.Replicas
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("cluster: JetStream: %w", err)
	}
	n.js = js
	return nil
}

// startServer embeds a NATS server with JetStream, clustered over the routes.
func (n *Node) startServer() (*server.Server, error) {
	cfg := n.cfg
	opts := &server.Options{
		ServerName: cfg.Name,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "nats"),
		NoSigs:     true,
		// Without --nats-listen, a loopback port of the system's choosing:
		// the server's start waits on its client listener.
		Host: "127.0.0.1",
		Port: server.RANDOM_PORT,
	}
	if cfg.NATSListen != "" {
		host, port, err := splitHostPort(cfg.NATSListen, "--nats-listen")
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	if len(cfg.Routes) > 0 {
		if cfg.Listen == "" {
			return nil, app.Errorf(app.EINVALID, "--cluster-listen is required with --cluster: where the other nodes reach this one")
		}
		host, port, err := splitHostPort(cfg.Listen, "--cluster-listen")
		if err != nil {
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{Name: "auditlog", Host: host, Port: port}
		urls := make([]string, len(cfg.Routes))
		for i, r := range cfg.Routes {
			if _, _, err := splitHostPort(r, "--cluster"); err != nil {
				return nil, err
			}
			urls[i] = "nats://" + r
		}
		opts.Routes = server.RoutesFromStr(strings.Join(urls, ","))
		if opts.ServerName == "" {
			h, _ := os.Hostname()
			opts.ServerName = fmt.Sprintf("%s-%d", h, port)
		}
	}
	if opts.ServerName == "" {
		opts.ServerName, _ = os.Hostname()
	}
	n.cfg.Name = opts.ServerName
	// A port in use is said at once, by its flag, rather than after the
	// server's ten seconds of waiting for a listener that never comes.
	for _, l := range []struct{ flag, addr string }{{"--cluster-listen", cfg.Listen}, {"--nats-listen", cfg.NATSListen}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return nil, app.Errorf(app.ECONFLICT, "%s %s: %v", l.flag, l.addr, err)
		}
		ln.Close()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: unable to configure NATS: %w", err)
	}
	srv.SetLoggerV2(natsLogger{n.cfg.Logger.With("component", "nats")}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("cluster: the NATS server did not start (is %s or %s in use?)", cfg.Listen, cfg.NATSListen)
	}
	return srv, nil
}

func splitHostPort(s, flag string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port < 0 || port > 65535 {
		return "", 0, app.Errorf(app.EINVALID, "%s: %q is not host:port", flag, s)
	}
	return host, port, nil
}

// run sets up the stream and the bucket (retrying until they are there), then
// applies the stream for as long as the node is open.
func (n *Node) run() {
	defer n.wg.Done()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		// A JetStream request made before the cluster has a leader goes
		// unanswered: ask again soon rather than wait long.
		err := n.setup(time.Second + 2*wait)
		if err == nil {
			break
		}
		n.setupErr.Store(&err)
		n.logger.Debug("waiting for the stream", "err", err)
		if !n.sleep(wait) {
			return
		}
	}
	n.setupErr.Store(nil)
	// An earlier run may have stopped before it set the stream's MaxAge.
	n.retentionWant.Add(1)
	close(n.ready)
	n.wg.Add(1)
	go n.follow()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := n.consume()
		if n.isClosing() {
			return
		}
		n.logger.Warn("applying the stream stopped; starting again", "err", err, "applied", n.Applied())
		if !n.sleep(wait) {
			return
		}
	}
}

func (n *Node) sleep(d time.Duration) bool {
	select {
	case <-n.done:
		return false
	case <-time.After(d):
		return true
	}
}

func (n *Node) isClosing() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// setup creates the stream and the state bucket, or finds them.
func (n *Node) setup(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(n.ctx(), timeout)
	defer cancel()
	if n.replicas == 0 {
		// An external deployment: a cluster gets three replicas, a lone
		// server one. Only a connection tells which.
		if !n.nc.IsConnected() {
			return fmt.Errorf("not connected to NATS yet")
		}
		n.replicas = 1
		if n.nc.ConnectedClusterName() != "" {
			n.replicas = 3
		}
	}
	st, err := n.js.Stream(ctx, n.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = n.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        n.cfg.Stream,
			Description: "Audit Log entries and the workspace state changes they record, in order",
			Subjects:    []string{n.subject},
			Storage:     jetstream.FileStorage,
			Replicas:    n.replicas,
			MaxAge:      n.localRetention(),
			Duplicates:  2 * time.Minute,
		})
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", n.cfg.Stream, err)
	}
	kv, err := n.js.CreateOrUpdateKeyValue(ctx, n.bucketConfig())
	if err != nil {
		return fmt.Errorf("state bucket: %w", err)
	}
	n.stream, n.kv = st, kv
	return nil
}

// bucketConfig is the state bucket's configuration.
func (n *Node) bucketConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      n.cfg.Stream + "_state",
		Description: "The workspace state as of the stream sequence each key records, for nodes that replay after the stream forgot",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    n.replicas,
	}
}

// ctx is cancelled when the node closes.
func (n *Node) ctx() context.Context { return n.base }

// localRetention is the retention this node's store was last given: the
// stream keeps messages as long as the Log keeps entries.
func (n *Node) localRetention() time.Duration {
	v, ok, err := n.local.State(context.Background(), app.StateMeta, metaRetention)
	if err != nil || !ok || len(v) != 8 {
		return app.DefaultRetention
	}
	return time.Duration(binary.BigEndian.Uint64(v))
}

// consume applies the stream from the message after the last applied one.
func (n *Node) consume() error {
	ctx, cancel := context.WithTimeout(n.ctx(), 5*time.Second)
	info, err := n.stream.Info(ctx)
	cancel()
	if err != nil {
		return err
	}
	// While the stream has no leader, any of its replicas answers this,
	// this node's own too, which after a rebuild is as empty as its store
	// and says the stream holds nothing. The answer is taken all the same,
	// for a node to start applying at once; the consumer delivers from the
	// leader's copy, and apply refuses to go on across messages that aged
	// out, so a wrong answer costs a start again, not the state.
	start := n.Applied() + 1
	// The oldest message the stream still holds; before it, messages aged
	// out, and with them state changes this node may never have applied:
	// take the state from the bucket, then go on from there.
	oldest := info.State.LastSeq + 1
	if info.State.Msgs > 0 {
		oldest = info.State.FirstSeq
	}
	if oldest > start {
		if err := n.restoreState(oldest - 1); err != nil {
			return err
		}
		start = oldest
	}
	if start > info.State.LastSeq+1 {
		n.logger.Warn("this node has applied more than the stream holds: was the stream deleted?", "applied", start-1, "stream_last", info.State.LastSeq)
	}
	if info.State.LastSeq > n.last.Load() {
		n.last.Store(info.State.LastSeq)
	}
	cons, err := n.stream.OrderedConsumer(n.ctx(), jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer it.Stop()
		// A consumer whose server went away may wait for ever (seen with
		// nats-server 2.9): when nothing was applied for a while though the
		// stream holds more, start again.
		tick := time.NewTicker(stallCheck)
		defer tick.Stop()
		was := n.Applied()
		for {
			select {
			case <-n.done:
				return
			case <-stop:
				return
			case <-tick.C:
			}
			now := n.Applied()
			if now != was {
				was = now
				continue
			}
			ctx, cancel := context.WithTimeout(n.ctx(), stallCheck)
			info, err := n.stream.Info(ctx)
			cancel()
			if err == nil && info.State.LastSeq > now {
				n.logger.Warn("applying the stream stalled; starting again", "applied", now, "stream_last", info.State.LastSeq)
				return
			}
		}
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		// What the stream already holds goes into one transaction, with
		// one fsync, however many messages it is.
		batch := []jetstream.Msg{msg}
		for len(batch) < applyBatch {
			meta, err := msg.Metadata()
			if err != nil || meta.NumPending == 0 {
				break
			}
			if msg, err = it.Next(); err != nil {
				break
			}
			batch = append(batch, msg)
		}
		if err := n.apply(batch); err != nil {
			return err
		}
	}
}

// record is one stream message: an app.Commit, with every entry's id decided.
//
// Prior is what the workspace state the commit changes held on the node
// that made it, which worked the change out from it: a token regenerated
// from the token as that node had it. Another node may have changed the
// same state meanwhile, in a commit the stream holds first (a revoke of that
// token, sent to another node at the same moment, or not yet applied here):
// every node, applying the stream in one order from one state, then finds
// the state other than Prior and leaves the whole commit out, its entries
// too, and the node that made it answers that nothing was changed. Without
// it the later commit won whole: a revoked token came back regenerated, a
// removed member came back an Admin, one of two settings changes was lost.
type record struct {
	Events     []app.Event `json:"events,omitempty"`
	ReceivedAt time.Time   `json:"received_at"`
	Cutoff     time.Time   `json:"cutoff"`
	State      []wireState `json:"state,omitempty"`
	Prior      []wireState `json:"prior,omitempty"` // Value: the SHA-256 of what the key held; nil: nothing
}

// staleKept is how many of the latest commits left out apply remembers, for
// the nodes that made them to hear so.
const staleKept = 1024

// wireState is an app.StateValue whose key survives JSON: token keys are raw
// hashes, not UTF-8, which a JSON string would mangle.
type wireState struct {
	Kind  app.StateKind `json:"kind"`
	Key   []byte        `json:"key"`
	Value []byte        `json:"value"` // nil deletes
}

func toWire(state []app.StateValue) []wireState {
	out := make([]wireState, len(state))
	for i, v := range state {
		out[i] = wireState{Kind: v.Kind, Key: []byte(v.Key), Value: v.Value}
	}
	return out
}

func fromWire(state []wireState) []app.StateValue {
	out := make([]app.StateValue, len(state))
	for i, v := range state {
		out[i] = app.StateValue{Kind: v.Kind, Key: string(v.Key), Value: v.Value}
	}
	return out
}

// apply stores messages, and the sequence of the last, in one transaction.
func (n *Node) apply(msgs []jetstream.Msg) error {
	var commits []app.Commit
	var seqs, stale []uint64
	var changes [][]app.StateValue
	var copies []app.StateValue
	var last *jetstream.MsgMetadata
	applied := n.Applied()
	for _, msg := range msgs {
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		if seq <= applied {
			continue // delivered again after a restart of the consumer
		}
		if seq > applied+1 {
			// The messages between aged out, after consume looked or
			// before an answer from a replica that did not know it: their
			// state must come from the bucket, as consume takes it when
			// it starts again. Nothing of this batch is applied.
			return fmt.Errorf("the stream skipped from sequence %d to %d: its oldest messages aged out", applied, seq)
		}
		applied, last = seq, meta
		var rec record
		if err := json.Unmarshal(msg.Data(), &rec); err != nil {
			// A message this version cannot read: stopping would stop
			// every later entry too, so it is skipped, loudly.
			n.logger.Error("skipping an unreadable stream message", "seq", seq, "err", err)
			rec = record{}
		}
		current, err := n.priorHolds(rec.Prior, changes)
		if err != nil {
			return err
		}
		if !current {
			n.logger.Info("left out a commit made from state another commit changed first", "seq", seq)
			stale = append(stale, seq)
			continue
		}
		state := fromWire(rec.State)
		commits = append(commits, app.Commit{Events: rec.Events, ReceivedAt: rec.ReceivedAt, Cutoff: rec.Cutoff, State: state})
		seqs, changes = append(seqs, seq), append(changes, state)
		copies = append(copies, copyRecords(seq, rec.State)...)
	}
	if last == nil {
		return nil
	}
	// The records of what the follower is to copy into the state bucket are
	// written with the changes themselves, so none is forgotten.
	bookkeeping := append(copies, app.StateValue{Kind: stateCluster, Key: keyApplied, Value: binary.BigEndian.AppendUint64(nil, applied)})
	commits = append(commits, app.Commit{State: bookkeeping})
	if _, err := n.local.CommitAll(context.Background(), commits); err != nil {
		return err
	}
	for _, state := range changes {
		for _, v := range state {
			if v.Kind == app.StateMeta && v.Key == metaRetention {
				n.retentionWant.Add(1)
			}
		}
	}
	if l := applied + last.NumPending; l > n.last.Load() {
		n.last.Store(l)
	}
	n.noteStale(stale)
	n.setApplied(applied)
	for i, seq := range seqs {
		n.onApplied.call(seq)
		for _, v := range changes[i] {
			if n.cfg.OnState != nil {
				n.cfg.OnState(v)
			}
		}
	}
	if len(copies) > 0 || n.retentionDue() {
		n.wakeFollower()
	}
	return nil
}

// stateSum is what a record's Prior says a key held.
func stateSum(v []byte, ok bool) []byte {
	if !ok {
		return nil
	}
	sum := sha256.Sum256(v)
	return sum[:]
}

// priorHolds tells whether the state still holds what prior says, the
// changes of the batch applied before it (earlier first) counted.
func (n *Node) priorHolds(prior []wireState, earlier [][]app.StateValue) (bool, error) {
	for _, p := range prior {
		held, ok, found := []byte(nil), false, false
		for i := len(earlier) - 1; i >= 0 && !found; i-- {
			for j := len(earlier[i]) - 1; j >= 0; j-- {
				if v := earlier[i][j]; v.Kind == p.Kind && v.Key == string(p.Key) {
					held, ok, found = v.Value, v.Value != nil, true
					break
				}
			}
		}
		if !found {
			var err error
			if held, ok, err = n.local.State(context.Background(), p.Kind, string(p.Key)); err != nil {
				return false, err
			}
		}
		if !bytes.Equal(stateSum(held, ok), p.Value) {
			return false, nil
		}
	}
	return true, nil
}

// noteStale remembers the commits apply left out, the latest staleKept.
func (n *Node) noteStale(seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stale == nil || len(n.stale) > staleKept {
		n.stale = map[uint64]bool{}
	}
	for _, seq := range seqs {
		n.stale[seq] = true
	}
}

// wasStale tells whether apply left out the commit at seq.
func (n *Node) wasStale(seq uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stale[seq]
}

func (n *Node) setApplied(seq uint64) {
	n.mu.Lock()
	n.applied = seq
	close(n.advanced)
	n.advanced = make(chan struct{})
	n.mu.Unlock()
}

// Applied is the last stream sequence this node has applied.
func (n *Node) Applied() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.applied
}

// waitApplied waits until this node has applied seq.
func (n *Node) waitApplied(ctx context.Context, seq uint64) bool {
	for {
		n.mu.Lock()
		applied, advanced := n.applied, n.advanced
		n.mu.Unlock()
		if applied >= seq {
			return true
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return false
		case <-n.done:
			return false
		}
	}
}

// stateValue is how one piece of state sits in the bucket: with the stream
// sequence it came from, so a copy never overwrites a newer one.
type stateValue struct {
	Seq   uint64 `json:"seq"`
	Value []byte `json:"value"` // nil: deleted
}

// bucketKey makes a bucket key of any state key (token keys are raw hashes).
func bucketKey(kind app.StateKind, key string) string {
	return string(kind) + "." + hex.EncodeToString([]byte(key))
}

// restoreState loads the bucket's state into the local store, for a node
// about to skip to the stream's first message (through is the last sequence
// skipped).
func (n *Node) restoreState(through uint64) error {
	// This node's own changes not yet copied may be newer than what the
	// bucket holds of the same keys: copy them first.
	if err := n.copyWaiting(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(n.ctx(), 10*time.Second)
	defer cancel()
	// Read from the bucket's leader: a direct get or a consumer may be
	// served by this node's own replica, which may be as empty as its store.
	bucket := n.cfg.Stream + "_state"
	kvs, err := n.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return err
	}
	prefix := "$KV." + bucket + "."
	info, err := kvs.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return err
	}
	// While the bucket has no leader, any of its replicas answers for it,
	// this node's own too, which may be as empty as its store: restoring
	// from that answer would lose every token and setting. Wait for one.
	if info.Cluster != nil && info.Cluster.Leader == "" {
		return errors.New("state bucket: no leader yet, to restore the workspace state from")
	}
	// A bucket made again after it was lost holds only what changed since,
	// until a node that applied all the stream copies the whole state in.
	if seeded, err := n.leaderGetLast(ctx, "KV_"+bucket, prefix+seededKey); err != nil {
		return err
	} else if seeded == nil {
		return errors.New("state bucket: it does not hold the whole workspace state yet (no node that applied all the stream has copied it in)")
	}
	var state []app.StateValue
	for subject := range info.State.Subjects {
		kind, hexKey, ok := strings.Cut(strings.TrimPrefix(subject, prefix), ".")
		raw, herr := hex.DecodeString(hexKey)
		if !ok || herr != nil {
			continue
		}
		data, err := n.leaderGetLast(ctx, "KV_"+bucket, subject)
		if err != nil {
			return err
		}
		var sv stateValue
		if data == nil || json.Unmarshal(data, &sv) != nil {
			continue // deleted or purged: not ours
		}
		state = append(state, app.StateValue{Kind: app.StateKind(kind), Key: string(raw), Value: sv.Value})
	}
	state = append(state, app.StateValue{Kind: stateCluster, Key: keyApplied, Value: binary.BigEndian.AppendUint64(nil, through)})
	if _, err := n.local.Commit(ctx, app.Commit{State: state}); err != nil {
		return err
	}
	n.logger.Info("restored the workspace state from the state bucket", "pieces", len(state)-1, "skipped_to", through+1)
	n.setApplied(through)
	for _, v := range state[:len(state)-1] {
		if v.Kind == app.StateMeta && v.Key == metaRetention {
			n.retentionWant.Add(1)
		}
		if n.cfg.OnState != nil {
			n.cfg.OnState(v)
		}
	}
	n.wakeFollower()
	return nil
}

// leaderGetLast asks the stream's leader for the last message on subject
// (JetStream's message get API; the direct get may answer from any replica).
func (n *Node) leaderGetLast(ctx context.Context, stream, subject string) ([]byte, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": subject})
	resp, err := n.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, err
	}
	var r struct {
		Message *struct {
			Data []byte `json:"data"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return nil, err
	}
	if r.Error != nil {
		if r.Error.Code == 404 {
			return nil, nil
		}
		return nil, fmt.Errorf("state bucket: %s", r.Error.Description)
	}
	if r.Message == nil {
		return nil, nil
	}
	return r.Message.Data, nil
}

// isLocal reports whether c is this node's own bookkeeping: no entries, and
// only state no other node needs.
func isLocal(c app.Commit) bool {
	if len(c.Events) > 0 {
		return false
	}
	for _, v := range c.State {
		if !v.NodeLocal() {
			return false
		}
	}
	return true
}

// idEncoding is the store's: ids are 26 characters, in time order.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newID makes an entry id here, before publishing, so every node stores the
// same one: the timestamp, then random bits, so ids keep the time order.
func newID(ts time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(ts.UnixNano()))
	rand.Read(b[8:])
	return idEncoding.EncodeToString(b[:])
}

// msgID names a commit for JetStream's de-duplication: its entry ids, so a
// retried request within the window is stored once. Without entries, the
// content itself.
func msgID(data []byte, events []app.Event) string {
	h := sha256.New()
	if len(events) == 0 {
		h.Write(data)
	}
	for _, e := range events {
		h.Write([]byte(e.ID))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Commit publishes c to the stream, waits for a quorum to hold it and for this
// node to apply it, and returns the entries as stored.
func (n *Node) Commit(ctx context.Context, c app.Commit) ([]app.Event, error) {
	if isLocal(c) {
		return n.local.Commit(ctx, c)
	}
	rec := record{Events: make([]app.Event, len(c.Events)), ReceivedAt: c.ReceivedAt.UTC(), Cutoff: c.Cutoff, State: toWire(c.State)}
	for _, v := range c.State {
		if v.NodeLocal() {
			continue
		}
		held, ok, err := n.local.State(ctx, v.Kind, v.Key)
		if err != nil {
			return nil, err
		}
		rec.Prior = append(rec.Prior, wireState{Kind: v.Kind, Key: []byte(v.Key), Value: stateSum(held, ok)})
	}
	for i, e := range c.Events {
		if e.ID == "" {
			e.ID = newID(e.Timestamp)
		}
		e.ReceivedAt = rec.ReceivedAt
		rec.Events[i] = e
	}
	data, err := json.Marshal(&rec)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, n.cfg.WriteTimeout)
	defer cancel()
	select {
	case <-n.ready:
	case <-wctx.Done():
		return nil, n.unavailable(ctx, wctx.Err(), false)
	}
	ack, err := n.publish(wctx, data, msgID(data, rec.Events))
	if err != nil {
		return nil, n.unavailable(ctx, err, !noLeader(err))
	}
	if ack.Sequence > n.last.Load() {
		n.last.Store(ack.Sequence)
	}
	n.onAcked.call(ack.Sequence)
	actx, cancel := context.WithTimeout(ctx, n.cfg.ApplyWait)
	defer cancel()
	applied := n.waitApplied(actx, ack.Sequence)
	if applied && n.wasStale(ack.Sequence) {
		return nil, app.Errorf(app.ECONFLICT, "this was changed on another node at the same moment: nothing was changed here; look again, and try again")
	}
	if !applied {
		// Replicated, so it is recorded: it will be applied here too.
		n.logger.Warn("an acknowledged commit is not applied here yet", "seq", ack.Sequence, "applied", n.Applied())
		return rec.Events, nil
	}
	out := make([]app.Event, len(rec.Events))
	for i, e := range rec.Events {
		stored, ok, err := n.local.Get(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			stored = e // purged at once: older than the retention
		}
		out[i] = stored
	}
	return out, nil
}

// publish sends a commit to the stream and waits for its acknowledgement
// until ctx is done. While no stream leader answers (one is being elected:
// a few seconds after the leader's machine went), nothing has taken the
// commit, so it is sent again every quarter second rather than refused at
// once: a write during an election waits and is acknowledged.
func (n *Node) publish(ctx context.Context, data []byte, id string) (*jetstream.PubAck, error) {
	for {
		ack, err := n.js.Publish(ctx, n.subject, data, jetstream.WithMsgID(id), jetstream.WithExpectStream(n.cfg.Stream), jetstream.WithRetryAttempts(0))
		if !noLeader(err) {
			return ack, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(publishRetry):
		}
	}
}

const publishRetry = 250 * time.Millisecond

// noLeader tells a publish that no stream leader answered: nothing took it.
func noLeader(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// unavailable explains a failed publish; a cancelled request stays that.
// Only a request that never reached a stream leader is surely not
// recorded: one the leader took, but whose quorum did not answer in time,
// is recorded once the quorum is back. A client must not be told
// otherwise, or it retries events without ids, and they are recorded twice.
func (n *Node) unavailable(ctx context.Context, err error, sent bool) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	n.logger.Warn("a commit was not acknowledged by a quorum", "err", err)
	if !sent {
		return app.Errorf(app.EUNAVAILABLE, "the cluster has no quorum (fewer than a majority of the nodes answer, or it is electing a leader), so nothing was recorded; retry in a few seconds")
	}
	return app.Errorf(app.EUNAVAILABLE, "the cluster did not confirm the write in %s (fewer than a majority of the nodes answer, or it is electing a leader): it may still be recorded once they do; retry in a few seconds", n.cfg.WriteTimeout)
}

// The reads are the local store's.

func (n *Node) Get(ctx context.Context, id string) (app.Event, bool, error) {
	return n.local.Get(ctx, id)
}

func (n *Node) Read(ctx context.Context, keys []app.Key) ([]app.Event, []app.Key, error) {
	return n.local.Read(ctx, keys)
}

func (n *Node) Walk(ctx context.Context, r app.Range, fn func(app.Key, *app.Event) bool) error {
	return n.local.Walk(ctx, r, fn)
}

func (n *Node) Counts(ctx context.Context, from, to int64, namespaces []app.Namespace, t app.Tally) error {
	return n.local.Counts(ctx, from, to, namespaces, t)
}

func (n *Node) CountSlots(ctx context.Context, from, to int64, namespaces []app.Namespace, c *app.SlotCounts) error {
	return n.local.CountSlots(ctx, from, to, namespaces, c)
}

func (n *Node) Pending(ctx context.Context, limit int) ([]app.IndexDoc, error) {
	return n.local.Pending(ctx, limit)
}

func (n *Node) Indexed(ctx context.Context, seq uint64) error { return n.local.Indexed(ctx, seq) }

func (n *Node) Scan(ctx context.Context, after app.Key, limit int) ([]app.IndexDoc, error) {
	return n.local.Scan(ctx, after, limit)
}

func (n *Node) Len(ctx context.Context) (int, error) { return n.local.Len(ctx) }

// Purge purges the local store: every node purges by the same rule, and the
// stream forgets by its MaxAge.
func (n *Node) Purge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return n.local.Purge(ctx, cutoff, limit)
}

// ErasePurged erases what the local store's purged entries left behind.
func (n *Node) ErasePurged(ctx context.Context, cutoff time.Time) error {
	return n.local.ErasePurged(ctx, cutoff)
}

func (n *Node) State(ctx context.Context, kind app.StateKind, key string) ([]byte, bool, error) {
	return n.local.State(ctx, kind, key)
}

func (n *Node) States(ctx context.Context, kind app.StateKind) ([]app.StateValue, error) {
	return n.local.States(ctx, kind)
}

// Check reports whether the local store answers: a node without quorum still
// serves reads. Status tells about the cluster.
func (n *Node) Check() error { return n.local.Check() }

// Close stops applying, leaves the cluster and closes the local store.
func (n *Node) Close() error {
	var err error
	n.closed.Do(func() {
		close(n.done)
		n.cancel()
		n.wg.Wait()
		n.shutdownEngine()
		err = n.local.Close()
	})
	return err
}

func (n *Node) shutdownEngine() {
	if n.nc != nil {
		n.nc.Close()
	}
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
}

// hook is a function a test may set while the node runs.
type hook struct{ p atomic.Pointer[func(uint64)] }

func (h *hook) set(fn func(uint64)) { h.p.Store(&fn) }

func (h *hook) call(seq uint64) {
	if fn := h.p.Load(); fn != nil {
		(*fn)(seq)
	}
}

// natsLogger passes the embedded server's notices and errors to slog.
type natsLogger struct{ l *slog.Logger }

func (g natsLogger) Noticef(format string, v ...any) { g.l.Debug(fmt.Sprintf(format, v...)) }
func (g natsLogger) Warnf(format string, v ...any)   { g.l.Warn(fmt.Sprintf(format, v...)) }
func (g natsLogger) Fatalf(format string, v ...any)  { g.l.Error(fmt.Sprintf(format, v...)) }
func (g natsLogger) Errorf(format string, v ...any)  { g.l.Error(fmt.Sprintf(format, v...)) }
func (g natsLogger) Debugf(format string, v ...any)  {}
func (g natsLogger) Tracef(format string, v ...any)  {}

// The chain: each node's own, computed as it applies the stream.

func (n *Node) Chain(ctx context.Context, from uint64, fn func(*app.Link) bool) error {
	return n.local.Chain(ctx, from, fn)
}

func (n *Node) Head(ctx context.Context) (app.ChainHead, error) { return n.local.Head(ctx) }

func (n *Node) DropLinks(ctx context.Context, seq uint64) error { return n.local.DropLinks(ctx, seq) }
