package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
)

// The instance file names the server that holds a data directory. A server
// answering there counts when it is an Audit Log, whatever its health (one
// whose chain is broken still holds the store), and it is the one that wrote
// the file: it takes the file's launch secret (then commands go through it),
// or the process that wrote the file still runs. After a crash the file
// stays, and whatever has the address since does not count.
func TestARunningInstanceIsTheServerThatWroteTheFile(t *testing.T) {
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Skip("no process to end:", err)
	}
	alive, dead := os.Getpid(), ended.Process.Pid
	for _, c := range []struct {
		name          string
		pid           int
		health        int
		healthBody    string
		secretTaken   bool
		wantRunning   bool
		wantReachable bool
	}{
		{"healthy", alive, http.StatusOK, `{"status":"ok"}`, true, true, true},
		{"its chain found broken", alive, http.StatusServiceUnavailable, `{"status":"broken"}`, true, true, true},
		{"its store unavailable", alive, http.StatusServiceUnavailable, `{"status":"unavailable","error":"disk"}`, true, true, true},
		{"in another process namespace", dead, http.StatusOK, `{"status":"ok"}`, true, true, true},
		{"on a LAN address, taking the secret only over loopback", alive, http.StatusOK, `{"status":"ok"}`, false, true, false},
		{"another log's server since a crash", dead, http.StatusOK, `{"status":"ok"}`, false, false, false},
		{"something else on the port", alive, http.StatusOK, `<html>hello</html>`, true, false, false},
		{"something else, failing", alive, http.StatusBadGateway, `{"status":"ok"}`, true, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/healthz":
					w.WriteHeader(c.health)
					w.Write([]byte(c.healthBody))
				case r.URL.Path == "/api/v1/workspace" && c.secretTaken && r.Header.Get("Authorization") == "Bearer s3cret":
					w.Write([]byte(`{}`))
				case r.URL.Path == "/api/v1/workspace":
					w.WriteHeader(http.StatusUnauthorized)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			if err := writeInstance(dir, instance{URL: srv.URL, LaunchURL: srv.URL + "/launch?secret=s3cret", PID: c.pid}); err != nil {
				t.Fatal(err)
			}
			in, running := runningInstance(dir)
			if running != c.wantRunning || in.reachable != c.wantReachable {
				t.Fatalf("running %v, reachable %v; want %v, %v", running, in.reachable, c.wantRunning, c.wantReachable)
			}
		})
	}
}
