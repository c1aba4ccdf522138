package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
)

// The instance file names the server that holds a data directory. A server
// answering there counts when it is an Audit Log and the process that wrote
// the file still runs, whatever its health: one whose chain is broken still
// holds the store. After a crash the file stays, and whatever has the
// address since does not count.
func TestARunningInstanceIsTheServerThatWroteTheFile(t *testing.T) {
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Skip("no process to end:", err)
	}
	alive, dead := os.Getpid(), ended.Process.Pid
	for _, c := range []struct {
		name        string
		pid         int
		health      int
		healthBody  string
		wantRunning bool
	}{
		{"healthy", alive, http.StatusOK, `{"status":"ok"}`, true},
		{"its chain found broken", alive, http.StatusServiceUnavailable, `{"status":"broken"}`, true},
		{"its store unavailable", alive, http.StatusServiceUnavailable, `{"status":"unavailable","error":"disk"}`, true},
		{"another log's server since a crash", dead, http.StatusOK, `{"status":"ok"}`, false},
		{"something else on the port", alive, http.StatusOK, `<html>hello</html>`, false},
		{"something else, failing", alive, http.StatusBadGateway, `{"status":"ok"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/healthz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(c.health)
				w.Write([]byte(c.healthBody))
			}))
			defer srv.Close()
			dir := t.TempDir()
			if err := writeInstance(dir, instance{URL: srv.URL, LaunchURL: srv.URL + "/launch?secret=s3cret", PID: c.pid}); err != nil {
				t.Fatal(err)
			}
			if _, running := runningInstance(dir); running != c.wantRunning {
				t.Fatalf("running: %v, want %v", running, c.wantRunning)
			}
		})
	}
}
