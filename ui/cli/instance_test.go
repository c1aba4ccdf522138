package cli

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The instance file names the server that holds a data directory. A server
// answering there counts when it is an Audit Log that takes the file's
// launch secret, whatever its health: one whose chain is broken still holds
// the store. After a crash the file stays, and whatever has the address
// since does not count.
func TestARunningInstanceIsTheServerThatWroteTheFile(t *testing.T) {
	for _, c := range []struct {
		name        string
		health      int
		healthBody  string
		workspace   int
		wantRunning bool
	}{
		{"healthy", http.StatusOK, `{"status":"ok"}`, http.StatusOK, true},
		{"its chain found broken", http.StatusServiceUnavailable, `{"status":"broken"}`, http.StatusOK, true},
		{"its store unavailable", http.StatusServiceUnavailable, `{"status":"unavailable","error":"disk"}`, http.StatusServiceUnavailable, true},
		{"another log's server since a crash", http.StatusOK, `{"status":"ok"}`, http.StatusUnauthorized, false},
		{"something else on the port", http.StatusOK, `<html>hello</html>`, http.StatusOK, false},
		{"something else, failing", http.StatusBadGateway, `{"status":"ok"}`, http.StatusOK, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/healthz":
					w.WriteHeader(c.health)
					w.Write([]byte(c.healthBody))
				case "/api/v1/workspace":
					if r.Header.Get("Authorization") != "Bearer s3cret" {
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					w.WriteHeader(c.workspace)
					w.Write([]byte(`{}`))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			if err := writeInstance(dir, instance{URL: srv.URL, LaunchURL: srv.URL + "/launch?secret=s3cret", PID: 1}); err != nil {
				t.Fatal(err)
			}
			if _, running := runningInstance(dir); running != c.wantRunning {
				t.Fatalf("running: %v, want %v", running, c.wantRunning)
			}
		})
	}
}
