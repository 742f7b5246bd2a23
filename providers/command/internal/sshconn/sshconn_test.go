package sshconn

// These tests talk to real OpenSSH servers (internal/sshdtest) on 127.0.0.1.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"k8s-platform/providers/command/internal/sshdtest"
)

func endpointFor(s *sshdtest.Server, key string) Endpoint {
	e := Endpoint{Host: "127.0.0.1", Port: s.Port, User: s.User, DialErrorLimit: 2, PerDialTimeout: 5 * time.Second}
	if key != "" {
		e.PrivateKey = &key
	}
	return e
}

func testOptions() Options {
	return Options{KeepAliveInterval: time.Second, KeepAliveMaxMissed: 3, RetryDelay: 200 * time.Millisecond}
}

// runOn dials t, runs cmd and returns stdout, stderr and Run's error.
func runOn(t *testing.T, target *Target, opts Options, cmd string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Dial(ctx, target, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = s.Run(ctx, cmd, Streams{Stdout: &stdout, Stderr: &stderr})
	return stdout.String(), stderr.String(), err
}

func TestKeyAuthRunsCommandAndReportsExitCode(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	srv := sshdtest.Start(t, sshdtest.Options{Role: "target", AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	stdout, stderr, err := runOn(t, &Target{Endpoint: endpointFor(srv, pemKey)}, testOptions(),
		`echo "$SSHD_ROLE"; echo oops >&2; exit 3`)
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Fatalf("want exit status 3, got %v", err)
	}
	if stdout != "target\n" || stderr != "oops\n" {
		t.Fatalf("stdout %q stderr %q", stdout, stderr)
	}
}

func TestEncryptedKeyNeedsItsPassphrase(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "key-passphrase")
	srv := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	e := endpointFor(srv, pemKey)
	pass := "key-passphrase"
	e.PrivateKeyPassword = &pass
	if out, _, err := runOn(t, &Target{Endpoint: e}, testOptions(), "echo ok"); err != nil || out != "ok\n" {
		t.Fatalf("with passphrase: %q %v", out, err)
	}
	e.PrivateKeyPassword = nil
	_, err := Dial(context.Background(), &Target{Endpoint: e}, testOptions())
	if err == nil || !strings.Contains(err.Error(), "encrypted: set privateKeyPassword") {
		t.Fatalf("want a clear passphrase error, got %v", err)
	}
}

func TestAgentAuthWithRealSSHAgent(t *testing.T) {
	agentBin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Skip("SKIP: ssh-agent (openssh-client) is not installed")
	}
	signer, pemKey := sshdtest.NewKey(t, "")
	srv := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	agentCmd := exec.Command(agentBin, "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	keyFile := filepath.Join(dir, "id")
	if err := os.WriteFile(keyFile, []byte(pemKey), 0o600); err != nil {
		t.Fatal(err)
	}
	add := exec.Command("ssh-add", keyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}

	e := endpointFor(srv, "") // no key: the agent's is the only one
	e.AgentSocketPath = &sock
	if out, _, err := runOn(t, &Target{Endpoint: e}, testOptions(), "echo via-agent"); err != nil || out != "via-agent\n" {
		t.Fatalf("explicit agentSocketPath: %q %v", out, err)
	}
	// The default is $SSH_AUTH_SOCK (not t.Parallel: Setenv).
	t.Setenv("SSH_AUTH_SOCK", sock)
	e.AgentSocketPath = nil
	if out, _, err := runOn(t, &Target{Endpoint: e}, testOptions(), "echo via-env"); err != nil || out != "via-env\n" {
		t.Fatalf("SSH_AUTH_SOCK: %q %v", out, err)
	}
	missing := filepath.Join(dir, "nothing-here.sock")
	e.AgentSocketPath = &missing
	if _, err := Dial(context.Background(), &Target{Endpoint: e}, testOptions()); err == nil ||
		!strings.Contains(err.Error(), "agentSocketPath") {
		t.Fatalf("an unreachable explicit agent must be an error, got %v", err)
	}
}

func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t, sshdtest.Options{Role: "pw", Password: "s3cret-Pa55"})
	e := endpointFor(srv, "")
	pw := "s3cret-Pa55"
	e.Password = &pw
	if out, _, err := runOn(t, &Target{Endpoint: e}, testOptions(), `echo "$SSHD_ROLE"`); err != nil || out != "pw\n" {
		t.Fatalf("password auth: %q %v", out, err)
	}
	wrong := "wrong-password"
	e.Password, e.DialErrorLimit = &wrong, 0
	_, err := Dial(context.Background(), &Target{Endpoint: e}, testOptions())
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") || strings.Contains(err.Error(), wrong) {
		t.Fatalf("want an authentication error without the password, got %v", err)
	}
}

func TestHostKeyVerification(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	srv := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	for _, typ := range []string{"ed25519", "rsa"} { // rsa: negotiated as rsa-sha2-*, which OpenSSH requires
		e := endpointFor(srv, pemKey)
		hk := srv.HostKey[typ]
		e.HostKey = &hk
		if out, _, err := runOn(t, &Target{Endpoint: e}, testOptions(), "echo ok"); err != nil || out != "ok\n" {
			t.Fatalf("%s host key: %q %v", typ, out, err)
		}
	}
	other, _ := sshdtest.NewKey(t, "")
	wrong := string(ssh.MarshalAuthorizedKey(other.PublicKey()))
	e := endpointFor(srv, pemKey)
	e.HostKey, e.DialErrorLimit = &wrong, 5
	start := time.Now()
	_, err := Dial(context.Background(), &Target{Endpoint: e}, testOptions())
	var mismatch *HostKeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("want a host key mismatch, got %v", err)
	}
	real, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(srv.HostKey["ed25519"]))
	for _, want := range []string{srv.Addr(), ssh.FingerprintSHA256(other.PublicKey()), ssh.FingerprintSHA256(real)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("a mismatch must not be retried (took %s)", time.Since(start))
	}
}

func TestProxyJumpThroughBastion(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	keys := []ssh.PublicKey{signer.PublicKey()}
	bastion := sshdtest.Start(t, sshdtest.Options{Role: "bastion", AuthorizedKeys: keys})
	target := sshdtest.Start(t, sshdtest.Options{Role: "target", AuthorizedKeys: keys})
	proxy := endpointFor(bastion, pemKey)
	hk := bastion.HostKey["ed25519"]
	proxy.HostKey = &hk
	tgt := &Target{Endpoint: endpointFor(target, pemKey), Proxy: &proxy}
	if out, _, err := runOn(t, tgt, testOptions(), `echo "$SSHD_ROLE"`); err != nil || out != "target\n" {
		t.Fatalf("via bastion: %q %v", out, err)
	}
	if !strings.Contains(bastion.Log(), "port "+strconv.Itoa(target.Port)) ||
		!strings.Contains(bastion.Log(), "direct-tcpip") {
		t.Errorf("the bastion's log shows no direct-tcpip channel to port %d", target.Port)
	}

	wrong := target.HostKey["ed25519"] // the target's key is not the bastion's
	proxy.HostKey = &wrong
	_, err := Dial(context.Background(), tgt, testOptions())
	if err == nil || !strings.Contains(err.Error(), "proxy") || !strings.Contains(err.Error(), "host key mismatch for "+bastion.Addr()) {
		t.Fatalf("want a proxy host key mismatch, got %v", err)
	}
}

func TestProxyRetriesWithAFreshChannel(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	keys := []ssh.PublicKey{signer.PublicKey()}
	bastion := sshdtest.Start(t, sshdtest.Options{Role: "bastion", AuthorizedKeys: keys})
	target := sshdtest.Start(t, sshdtest.Options{Role: "target", AuthorizedKeys: keys})
	// The target's port hangs up on the first two connections, as a booting machine's does:
	// each such attempt kills its channel, so a retry on the same channel could never succeed.
	relay := newRelay(t, target.Addr(), 2)
	proxy := endpointFor(bastion, pemKey)
	e := endpointFor(target, pemKey)
	e.Port, e.DialErrorLimit = relay.port, 5
	var retries []string
	opts := testOptions()
	opts.Status = func(msg string) { retries = append(retries, msg) }
	out, _, err := runOn(t, &Target{Endpoint: e, Proxy: &proxy}, opts, `echo "$SSHD_ROLE"`)
	if err != nil || out != "target\n" {
		t.Fatalf("%q %v", out, err)
	}
	viaProxy := 0
	for _, r := range retries {
		if strings.Contains(r, "via proxy "+bastion.Addr()) {
			viaProxy++
		}
	}
	if viaProxy != 2 {
		t.Fatalf("expected two retries of the target through the proxy, got %q", retries)
	}
}

func TestUnreachableHostFailsWithinTheDialBudget(t *testing.T) {
	t.Parallel()
	// Nothing listens: every attempt is refused at once; backoff pauses stay inside the budget.
	refused := Endpoint{Host: "127.0.0.1", Port: sshdtest.FreePort(t), User: "root", DialErrorLimit: 3, PerDialTimeout: time.Second}
	// Accepts TCP but never speaks SSH: only the handshake bound ends each attempt.
	silent := newRelay(t, "", 0)
	mute := refused
	mute.Port = silent.port
	for _, tc := range []struct {
		name string
		e    Endpoint
		want string
	}{{"refused", refused, "connection refused"}, {"silent", mute, "no SSH handshake within"}} {
		start := time.Now()
		_, err := Dial(context.Background(), &Target{Endpoint: tc.e}, Options{RetryDelay: 200 * time.Millisecond})
		took := time.Since(start)
		budget := time.Duration(tc.e.DialErrorLimit) * tc.e.PerDialTimeout
		if err == nil || !strings.Contains(err.Error(), "giving up after") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want a give-up error mentioning %q, got %v", tc.name, tc.want, err)
		}
		if took > budget+time.Second { // slack for a loaded machine
			t.Errorf("%s: took %s, more than dialErrorLimit×perDialTimeout = %s", tc.name, took, budget)
		}
	}
	// Unlimited retries end when the caller gives up.
	unlimited := refused
	unlimited.DialErrorLimit = -1
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, &Target{Endpoint: unlimited}, Options{RetryDelay: 100 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unlimited retries: want the context's error, got %v", err)
	}
}

func TestLongCommandSendsKeepAlives(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	// The server drops clients that miss one of its own liveness checks every 2 s.
	srv := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
		Extra: []string{"ClientAliveInterval 2", "ClientAliveCountMax 1"}})
	opts := testOptions()
	opts.KeepAliveInterval = 500 * time.Millisecond
	out, _, err := runOn(t, &Target{Endpoint: endpointFor(srv, pemKey)}, opts, "sleep 12; echo done")
	if err != nil || out != "done\n" {
		t.Fatalf("long command: %q %v", out, err)
	}
	if n := strings.Count(srv.Log(), "rtype keepalive@openssh.com want_reply 1"); n < 15 {
		t.Fatalf("sshd logged %d keepalive@openssh.com requests in 12 s, want >= 15 (one per 500 ms)", n)
	}
}

func TestKeepAlivesDetectADeadPath(t *testing.T) {
	t.Parallel()
	signer, pemKey := sshdtest.NewKey(t, "")
	srv := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	relay := newRelay(t, srv.Addr(), 0)
	e := endpointFor(srv, pemKey)
	e.Port = relay.port
	opts := testOptions()
	opts.KeepAliveInterval, opts.KeepAliveMaxMissed = 300*time.Millisecond, 3
	time.AfterFunc(time.Second, relay.freeze) // the path goes silent, as when a NAT forgets us
	start := time.Now()
	_, _, err := runOn(t, &Target{Endpoint: e}, opts, "sleep 60")
	if err == nil || !strings.Contains(err.Error(), "no reply to 3 keep-alives") {
		t.Fatalf("want a keep-alive failure, got %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a dead path was noticed only after %s", took)
	}
}
