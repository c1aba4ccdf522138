package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"auditlog/app"
	"auditlog/ui/api"
)

// instance is what a running server leaves in its data directory so that a
// second launch can point the user at it instead of failing.
type instance struct {
	URL       string `json:"url"`
	LaunchURL string `json:"launch_url"`
	PID       int    `json:"pid"`
	// TLSCert is the certificate file the server speaks HTTPS with, which the
	// command line trusts when it reaches the server on this computer.
	TLSCert string `json:"tls_cert,omitempty"`

	// reachable says the server took the launch secret just now, so the
	// commands can work through it: it takes it only from this computer's
	// loopback, which a server listening on one LAN address is not reached
	// by.
	reachable bool
}

// httpClient reaches the instance: over HTTPS, it trusts the server's own
// certificate, under the name it carries, so a self-signed certificate or
// one made for audit.example.lan works on 127.0.0.1 too.
func (in instance) httpClient(timeout time.Duration) *http.Client {
	hc := &http.Client{Timeout: timeout}
	if in.TLSCert == "" {
		return hc
	}
	b, err := os.ReadFile(in.TLSCert)
	if err != nil {
		return hc
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return hc
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return hc
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	cfg := &tls.Config{RootCAs: pool}
	if len(cert.IPAddresses) == 0 && len(cert.DNSNames) > 0 {
		cfg.ServerName = cert.DNSNames[0]
	}
	hc.Transport = &http.Transport{TLSClientConfig: cfg}
	return hc
}

const instanceFile = "instance.json"

// writeInstance records the running server; only this user may read it, since
// the launch URL opens a session.
func writeInstance(dir string, in instance) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, instanceFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, instanceFile))
}

func removeInstance(dir string) { os.Remove(filepath.Join(dir, instanceFile)) }

// inUse returns the running server when err says that one holds dir.
func inUse(dir string, err error) (instance, bool) {
	if app.ErrorCode(err) != app.ECONFLICT {
		return instance{}, false
	}
	return runningInstance(dir)
}

// inUseError names the running server in the error of a command that needs
// the directory to itself.
func inUseError(dir string, err error) error {
	if in, ok := inUse(dir, err); ok {
		return inUseErrorOf(dir, in)
	}
	return err
}

func inUseErrorOf(dir string, in instance) error {
	return app.Errorf(app.ECONFLICT, "the data directory %s is in use by the Audit Log running at %s; stop it first, or use its API", dir, in)
}

// runningInstance returns the server that holds dir, if it answers. Any
// answer of an Audit Log counts, a 503 too: a server whose chain was found
// broken, or a cluster node without a quorum, still holds its store and
// reads, and that is when verify and export are needed most. It is the
// server that wrote the file when it takes the file's launch secret (then
// it is reachable), or, refusing it, when the process that wrote the file
// still runs: after a crash the file stays behind, and another log's
// server may have the address since.
func runningInstance(dir string) (instance, bool) {
	var in instance
	b, err := os.ReadFile(filepath.Join(dir, instanceFile))
	if err != nil || json.Unmarshal(b, &in) != nil || in.URL == "" {
		return in, false
	}
	hc := in.httpClient(time.Second)
	res, err := hc.Get(in.URL + "/healthz")
	if err != nil {
		return in, false
	}
	var h api.Health
	err = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&h)
	res.Body.Close()
	if err != nil || h.Status == "" || (res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable) {
		return in, false
	}
	u, err := url.Parse(in.LaunchURL)
	if err != nil {
		return in, false
	}
	req, err := http.NewRequest(http.MethodGet, in.URL+"/api/v1/workspace", nil)
	if err != nil {
		return in, false
	}
	req.Header.Set("Authorization", "Bearer "+u.Query().Get("secret"))
	if res, err = hc.Do(req); err != nil {
		return in, false
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		in.reachable = true
		return in, true
	}
	return in, in.PID > 0 && processAlive(in.PID)
}

// reachableInstance is the running server that holds dir when commands can
// work through it. One that cannot be reached with the launch secret is
// left to the store's lock to find, which inUse then names.
func reachableInstance(dir string) (instance, bool) {
	in, ok := runningInstance(dir)
	return in, ok && in.reachable
}

func (in instance) String() string { return fmt.Sprintf("%s (process %d)", in.URL, in.PID) }
