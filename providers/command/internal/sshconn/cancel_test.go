package sshconn

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"k8s-platform/providers/command/internal/sshdtest"
)

// cancelDuring runs cmd on srv, cancels once file appears, and checks that Run returns promptly.
func cancelDuring(t *testing.T, srv *sshdtest.Server, key, cmd, file string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := Dial(ctx, &Target{Endpoint: endpointFor(srv, key)}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		waitFor(t, func() bool { _, err := os.Stat(file); return err == nil })
		cancel()
	}()
	start := time.Now()
	err = s.Run(ctx, cmd, Streams{Stdout: io.Discard})
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancellation error, got %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("cancellation took %s", took)
	}
}

// A login user other than root (as the program uses: a sudo user): sshd delivers the SIGTERM
// to the command's process group.
func TestCancelSignalsTheRemoteCommand(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	srv := sshdtest.Start(t, sshdtest.Options{User: "cmdtest", AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	pidFile, after := filepath.Join(srv.Home, "pid"), filepath.Join(srv.Home, "after")
	cancelDuring(t, srv, pemKey, "echo $$ > "+pidFile+"; sleep 300; touch "+after, pidFile)
	raw, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	// sshd and the test share the machine, so the remote shell's pid can be checked directly.
	waitFor(t, func() bool { return pid > 0 && syscall.Kill(pid, 0) != nil })
	if !strings.Contains(srv.Log(), "signal TERM, killpg") {
		t.Error("sshd's log shows no SIGTERM delivered to the session")
	}
	if _, err := os.Stat(after); err == nil {
		t.Fatal("the command went on after the cancellation")
	}
}

// For root logins OpenSSH ignores signal requests ("session signalling requires privilege
// separation"), so the command itself cannot be stopped; Run still returns promptly, after
// KillGrace, having closed the channel and the connection.
func TestCancelReturnsPromptlyForRootLogins(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to log in as root")
	}
	signer, pemKey := sshdtest.NewKey(t, "")
	srv := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	started := filepath.Join(t.TempDir(), "started")
	cancelDuring(t, srv, pemKey, "touch "+started+"; sleep 5", started)
	if !strings.Contains(srv.Log(), "req signal") {
		t.Error("sshd's log shows no signal request")
	}
}
