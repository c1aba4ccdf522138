package cli

import (
	"context"
	"flag"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"auditlog/app"
	"auditlog/app/cluster"
)

// serveCluster holds serve's cluster flags. With none of them given, serve
// runs a single node on its own store, as it always has.
type serveCluster struct {
	listen, routes, natsListen, nats *string
	creds, user, password, token     *string
	tlsCert, tlsKey, tlsCA           *string
}

func clusterFlags(fs *flag.FlagSet) *serveCluster {
	return &serveCluster{
		listen:     fs.String("cluster-listen", "", "run as a cluster node: where the other nodes reach this one, e.g. 0.0.0.0:6222"),
		routes:     fs.String("cluster", "", "every node of the cluster, this one too, the same list on each: host1:6222,host2:6222,host3:6222"),
		natsListen: fs.String("nats-listen", "127.0.0.1:4222", "a cluster node's NATS client port, for NATS tools (host:port or a port)"),
		nats:       fs.String("nats", "", "join an existing NATS deployment instead of embedding one: nats://host:4222,..."),
		creds:      fs.String("nats-creds", "", "with --nats: a NATS .creds file (user JWT and nkey seed)"),
		user:       fs.String("nats-user", "", "with --nats: a NATS user name (with --nats-password)"),
		password:   fs.String("nats-password", "", "with --nats: the password of --nats-user (default: $NATS_PASSWORD)"),
		token:      fs.String("nats-token", "", "with --nats: a NATS authentication token (default: $NATS_TOKEN)"),
		tlsCert:    fs.String("nats-tls-cert", "", "with --nats: a PEM client certificate (with --nats-tls-key)"),
		tlsKey:     fs.String("nats-tls-key", "", "with --nats: the PEM private key of --nats-tls-cert"),
		tlsCA:      fs.String("nats-tls-ca", "", "with --nats: PEM roots to trust the NATS servers with"),
	}
}

// on reports whether serve runs as a cluster node.
func (c *serveCluster) on(fs *flag.FlagSet) bool {
	return *c.listen != "" || *c.routes != "" || *c.nats != "" || flagWasSet(fs, "nats-listen")
}

// check refuses combinations that cannot mean anything, before anything opens.
func (c *serveCluster) check(fs *flag.FlagSet) error {
	if *c.routes != "" && *c.listen == "" {
		return usageError{"--cluster needs --cluster-listen: the address the other nodes reach this one at, e.g. 0.0.0.0:6222"}
	}
	if *c.nats != "" && (*c.routes != "" || *c.listen != "" || flagWasSet(fs, "nats-listen")) {
		return usageError{"--nats joins an existing NATS deployment; --cluster, --cluster-listen and --nats-listen embed one: give one or the other"}
	}
	if *c.nats == "" {
		for _, name := range []string{"nats-creds", "nats-user", "nats-password", "nats-token", "nats-tls-cert", "nats-tls-key", "nats-tls-ca"} {
			if flagWasSet(fs, name) {
				return usageError{"--" + name + " goes with --nats (an existing NATS deployment)"}
			}
		}
	}
	if (*c.tlsCert == "") != (*c.tlsKey == "") {
		return usageError{"--nats-tls-cert and --nats-tls-key go together: give both files"}
	}
	if *c.password != "" && *c.user == "" {
		return usageError{"--nats-password goes with --nats-user"}
	}
	return nil
}

// config is the node's configuration; the data directory holds its store,
// its index and, embedded, its NATS server's files.
func (c *serveCluster) config(dir string, logger *slog.Logger, getenv func(string) string) cluster.Config {
	natsListen := *c.natsListen
	if _, err := strconv.Atoi(natsListen); err == nil {
		natsListen = "127.0.0.1:" + natsListen
	}
	cfg := cluster.Config{
		Listen:      *c.listen,
		Routes:      splitComma(*c.routes),
		Credentials: absPath(*c.creds),
		User:        *c.user,
		Password:    envDefault(*c.password, getenv("NATS_PASSWORD")),
		Token:       envDefault(*c.token, getenv("NATS_TOKEN")),
		TLSCert:     absPath(*c.tlsCert),
		TLSKey:      absPath(*c.tlsKey),
		TLSCA:       absPath(*c.tlsCA),
		DataDir:     dir,
		Logger:      logger,
	}
	if *c.nats != "" {
		cfg.ExternalURLs = splitComma(*c.nats)
	} else {
		cfg.NATSListen = natsListen
	}
	return cfg
}

// openClusterLog opens this node of the cluster and the Log on it, and
// returns what the node knows of the cluster, for /healthz and the page.
func (m *Main) openClusterLog(dir string, retention time.Duration, c *serveCluster) (*app.Log, func(context.Context) app.ClusterStatus, error) {
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := c.config(dir, logger, m.Getenv)
	// The Log keeps its settings in memory: a change another node made
	// reaches this node's store, and the Log reads it again from there.
	var opened atomic.Pointer[app.Log]
	cfg.OnState = func(v app.StateValue) {
		if l := opened.Load(); l != nil && v.Kind == app.StateMeta {
			if err := l.ReloadState(context.Background()); err != nil {
				logger.Error("reloading the settings another node changed failed", "err", err)
			}
		}
	}
	node, err := cluster.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	log, err := m.openLogOn(dir, node, retention, false)
	if err != nil {
		return nil, nil, err
	}
	opened.Store(log)
	// A change applied between the node's start and now was heard before
	// the Log was there to reload.
	if err := log.ReloadState(context.Background()); err != nil {
		return nil, nil, err
	}
	return log, func(ctx context.Context) app.ClusterStatus { return node.Status(ctx) }, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// envDefault keeps secrets out of the process list when they come from the
// environment instead.
func envDefault(v, env string) string {
	if v != "" {
		return v
	}
	return strings.TrimSpace(env)
}
