// Package sshdtest starts real OpenSSH servers (Debian's openssh-server) for the tests: one
// `sshd -D -e -f <config>` per server on a random 127.0.0.1 port, with its own host keys,
// authorized_keys and log in a temporary directory, killed when the test ends.
package sshdtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options configure one server.
type Options struct {
	// Role is set as SSHD_ROLE in every session (sshd's SetEnv), so a test can tell which
	// server ran a command (target or bastion).
	Role           string
	AuthorizedKeys []ssh.PublicKey
	// User, when set, is a throwaway account (uid 4242, home in the server's directory) that
	// exists only for this sshd: it runs in a private mount namespace (unshare -m) with
	// temporary copies of /etc/passwd and /etc/shadow bind-mounted. Empty: the current user.
	User string
	// Password, when set, enables password login with it (through the same private
	// /etc/shadow).
	Password string
	// Extra sshd_config lines (e.g. ClientAliveInterval).
	Extra []string
	// Port to listen on; 0 picks a free one.
	Port int
}

// Server is a running sshd.
type Server struct {
	Port    int
	Dir     string
	User    string            // login user
	Home    string            // its home directory, where its commands may write
	HostKey map[string]string // key type ("ed25519", "rsa") -> public key, authorized_keys format
	LogPath string
}

// Addr is 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Log is sshd's log so far (sshd -E; LogLevel DEBUG1).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// Binary is the sshd to run, or "" with the reason when there is none.
func Binary() (string, string) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p, ""
		}
	}
	if p, err := exec.LookPath("sshd"); err == nil && filepath.IsAbs(p) {
		return p, ""
	}
	return "", "sshd is not installed (Debian package openssh-server; scripts/system-packages installs it)"
}

// Start runs a server for the test; it is killed and its directory removed when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, why := Binary()
	if bin == "" {
		t.Skip("SKIP: " + why)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if me.Uid == "0" {
		// sshd refuses to start without its privilege separation directory, which Debian's
		// service creates at boot; the tests never start that service.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Dir: t.TempDir(), User: me.Username, Home: me.HomeDir, HostKey: map[string]string{}}
	s.LogPath = filepath.Join(s.Dir, "sshd.log")
	var accounts *accountFiles
	if opts.User != "" || opts.Password != "" {
		accounts = newAccountFiles(t, s, opts)
	}
	for _, typ := range []string{"ed25519", "rsa"} {
		path := filepath.Join(s.Dir, "host_"+typ)
		run(t, "ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "test-host-"+typ, "-f", path)
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		s.HostKey[typ] = strings.TrimSpace(string(pub))
	}
	var keys bytes.Buffer
	for _, k := range opts.AuthorizedKeys {
		keys.Write(ssh.MarshalAuthorizedKey(k))
	}
	write(t, filepath.Join(s.Dir, "authorized_keys"), keys.Bytes())
	// sshd reads it as the login user, who may not be us.
	if err := os.Chmod(filepath.Join(s.Dir, "authorized_keys"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A port picked by the kernel can be taken between Close and sshd's bind: retry a few times.
	for attempt := 1; ; attempt++ {
		s.Port = opts.Port
		if s.Port == 0 {
			s.Port = FreePort(t)
		}
		err := s.launch(t, bin, opts, accounts)
		if err == nil {
			return s
		}
		if attempt == 3 || opts.Port != 0 || !strings.Contains(s.Log(), "Address already in use") {
			t.Fatalf("sshd did not start: %v\n%s", err, s.Log())
		}
	}
}

func (s *Server) launch(t testing.TB, bin string, opts Options, accounts *accountFiles) error {
	cfg := filepath.Join(s.Dir, "sshd_config")
	lines := []string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(s.Dir, "host_ed25519"),
		"HostKey " + filepath.Join(s.Dir, "host_rsa"),
		"PidFile none",
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys"),
		"StrictModes no",
		"PermitRootLogin yes",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication " + yesNo(opts.Password != ""),
		"KbdInteractiveAuthentication no",
		"AcceptEnv PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR TEST_*",
		"SetEnv SSHD_ROLE=" + opts.Role,
		"AllowTcpForwarding yes",
		"X11Forwarding no",
		"PrintMotd no",
		"UseDNS no",
		"MaxStartups 100",
		// DEBUG1 shows keep-alive requests and direct-tcpip channels. -E keeps the log out of
		// the sessions (with -e a session's pre-exec debug lines would reach its stderr).
		"LogLevel DEBUG1",
	}
	write(t, cfg, []byte(strings.Join(append(lines, opts.Extra...), "\n")+"\n"))
	_ = os.Remove(s.LogPath)
	sshd := []string{bin, "-D", "-E", s.LogPath, "-f", cfg}
	var cmd *exec.Cmd
	if accounts != nil {
		script := `mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow && shift 2 && exec "$@"`
		args := append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", accounts.passwd, accounts.shadow}, sshd...)
		cmd = exec.Command("unshare", args...)
	} else {
		cmd = exec.Command(sshd[0], sshd[1:]...)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// The whole process group: the listener and any per-connection sshd still running.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("sshd %s (%s) log tail:\n%s", opts.Role, s.Addr(), tail(s.Log(), 40))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("sshd exited: %v %s", err, stderr.String())
		default:
		}
		if banner(s.Addr()) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("sshd not answering on %s after 15s", s.Addr())
}

// banner reports whether an SSH server answers on addr.
func banner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8)
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "SSH-")
}

// accountFiles are private copies of /etc/passwd and /etc/shadow for one sshd.
type accountFiles struct{ passwd, shadow string }

const testUID = 4242

func newAccountFiles(t testing.TB, s *Server, opts Options) *accountFiles {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("SKIP: a private account for sshd needs unshare (util-linux)")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP: a private account for sshd needs root (unshare -m, mount --bind)")
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	shadow, err := os.ReadFile("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	hash := "*"
	if opts.Password != "" {
		hash = strings.TrimSpace(run(t, "openssl", "passwd", "-6", "-salt", "sshdtest", opts.Password))
	}
	shadowLines := strings.Split(strings.TrimRight(string(shadow), "\n"), "\n")
	if opts.User != "" {
		s.User, s.Home = opts.User, filepath.Join(s.Dir, "home")
		if err := os.Mkdir(s.Home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(s.Home, testUID, testUID); err != nil {
			t.Fatal(err)
		}
		// t.TempDir's directories are 0700; the account must reach its home and its keys.
		for _, dir := range []string{s.Dir, filepath.Dir(s.Dir)} {
			if err := os.Chmod(dir, 0o711); err != nil {
				t.Fatal(err)
			}
		}
		passwd = fmt.Appendf(passwd, "%s:x:%d:%d::%s:/bin/sh\n", opts.User, testUID, testUID, s.Home)
		shadowLines = append(shadowLines, opts.User+":"+hash+":20000:0:99999:7:::")
	} else {
		for i, line := range shadowLines {
			if f := strings.Split(line, ":"); len(f) > 2 && f[0] == s.User {
				f[1] = hash
				shadowLines[i] = strings.Join(f, ":")
			}
		}
	}
	a := &accountFiles{passwd: filepath.Join(s.Dir, "passwd"), shadow: filepath.Join(s.Dir, "shadow")}
	write(t, a.shadow, []byte(strings.Join(shadowLines, "\n")+"\n"))
	write(t, a.passwd, passwd)
	if err := os.Chmod(a.passwd, 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

// NewKey returns a fresh ed25519 client key and its private key in OpenSSH PEM form; with a
// passphrase the PEM is encrypted.
func NewKey(t testing.TB, passphrase string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

// FreePort is a loopback port nothing listens on (at the time of the call).
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(t testing.TB, name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func write(t testing.TB, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
