package cli

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/app/password"
	"auditlog/app/store"
	"auditlog/ui/tlstest"
)

func TestServingBeyondLoopbackPrintsTheOwnersSetupLinkWithoutATerminal(t *testing.T) {
	dir := t.TempDir()
	_, stdout, _, stop := serveIn(t, dir, nil, "--addr", "0.0.0.0:0", "--no-browser", "--host", "audit.example.lan,audit", "--host", "10.1.2.3")
	out := stdout.String()
	m := regexp.MustCompile(`http://audit\.example\.lan:(\d+)/setup\?token=(\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Team mode: members sign in at http://audit.example.lan:") {
		t.Fatalf("no setup link for the first --host name:\n%s", out)
	}
	// The link works from here, addressed to the configured name.
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+m[1]+"/setup?token="+m[2], nil)
	req.Host = "audit.example.lan:" + m[1]
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the setup link answers %d", res.StatusCode)
	}
	stop()
}

func TestServingBeyondLoopbackAsksForTheOwnerOnTheTerminal(t *testing.T) {
	dir := t.TempDir()
	answers := []string{"Alice Moreau", "alice@example.com", "short", "short", // refused: too short
		"Alice Moreau", "alice@example.com", "correct horse battery", "correct horse battery"}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	sig := make(chan os.Signal, 1)
	ready := make(chan struct{})
	m := &Main{
		Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }, Signals: sig,
		Ready: func(string, string) { close(ready) },
		Prompt: func(q string, secret bool) (string, error) {
			if strings.HasPrefix(q, "Password") != secret {
				t.Errorf("%q asked with secret=%v", q, secret)
			}
			a := answers[0]
			answers = answers[1:]
			return a, nil
		},
	}
	done := make(chan error, 1)
	go func() {
		err := m.Run(context.Background(), []string{"serve", "--data", dir, "--addr", "0.0.0.0:0", "--no-browser"})
		m.Close()
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	sig <- os.Interrupt
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "password: 10 to 256 characters are required; try again.") || !strings.Contains(stderr.String(), "Alice Moreau is the owner") {
		t.Fatalf("stderr:\n%s", stderr)
	}
	if strings.Contains(stdout.String(), "/setup?token=") {
		t.Fatal("a setup link was printed although the owner was set up on the terminal")
	}
	log := logtest.Open(t, dir)
	owner, ok, err := app.NewTeam(log, password.New(password.Default, 1)).Owner(context.Background())
	if err != nil || !ok || owner.Email != "alice@example.com" {
		t.Fatalf("owner = %+v %v %v", owner, ok, err)
	}
}

func TestTLSFlagsGoTogether(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runIn(t, dir, "serve", "--data", dir, "--tls-cert", "cert.pem", "--no-browser")
	if !isUsage(err) || !strings.Contains(err.Error(), "--tls-key") {
		t.Fatalf("err = %v", err)
	}
}

func TestCommandsReachAServerThatSpeaksTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := tlstest.WriteCert(t, "audit.example.lan") // a name only, as a real certificate has
	url, _, _, stop := serveIn(t, dir, nil, "--addr", "127.0.0.1:0", "--no-browser", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("url %s", url)
	}
	out, errOut, err := runIn(t, dir, "token", "create", "--label", "ci-deploy", "--scopes", "ingest", "--data", dir)
	if err != nil || !strings.Contains(errOut, "Using the Audit Log running at https://") || !strings.Contains(out, "alt_") {
		t.Fatalf("token create through the TLS server: %v\n%s\n%s", err, out, errOut)
	}
	stop()
}

// Ctrl-C while the owner is asked for stops serve cleanly: the question is
// left unanswered, the store closed as on any other stop.
func TestCtrlCAtTheOwnerQuestionStopsServeCleanly(t *testing.T) {
	dir := t.TempDir()
	m, _, errOut := newTestMain(dir)
	asked := make(chan struct{})
	m.Prompt = func(string, bool) (string, error) {
		close(asked)
		select {} // nobody answers
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--no-browser", "--addr", "127.0.0.1:0", "--team"}) }()
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the owner was not asked for")
	}
	cancel() // what Ctrl-C does to the command's context
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve stopped at the question with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop while the question was open")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if unclean, _ := store.UncleanStop(dir); unclean || !strings.Contains(errOut.String(), "Shutting down") {
		t.Fatalf("not a clean stop: unclean %v, stderr %q", unclean, errOut)
	}
}
