// Package sshconn is the SSH client of the command provider: authentication, host-key checks,
// bounded dial retries, a jump through a bastion, keep-alives and cancellable remote sessions.
// It knows nothing about Pulumi; the provider package maps a `connection` input onto a Target.
package sshconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Endpoint is one SSH hop: where to connect and how to prove who we are.
type Endpoint struct {
	Host string
	Port int
	User string

	Password           *string
	PrivateKey         *string
	PrivateKeyPassword *string
	// AgentSocketPath is the ssh-agent to ask for keys. Nil means $SSH_AUTH_SOCK, if set.
	AgentSocketPath *string

	// DialErrorLimit is how many failed attempts are tolerated before giving up (upstream's
	// "max allowed errors"); -1 means retry until cancelled.
	DialErrorLimit int
	// PerDialTimeout bounds one attempt: TCP connect and SSH handshake together. 0 means no bound.
	PerDialTimeout time.Duration

	// HostKey is the expected host key in authorized_keys format. Nil means not checked, as upstream.
	HostKey *string
}

// Target is the host the command runs on, optionally reached through a bastion.
type Target struct {
	Endpoint
	Proxy *Endpoint
}

// Address is host:port, as dialled.
func (e *Endpoint) Address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String names the endpoint in messages: user@host:port. Never includes credentials.
func (e *Endpoint) String() string { return e.User + "@" + e.Address() }

// configError marks mistakes in the connection settings: retrying cannot fix them.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// HostKeyMismatchError says the server is not the one `hostKey` describes.
type HostKeyMismatchError struct {
	Host     string
	Expected ssh.PublicKey
	Got      ssh.PublicKey
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key mismatch for %s: expected %s %s (connection.hostKey), the server presented %s %s",
		e.Host, e.Expected.Type(), ssh.FingerprintSHA256(e.Expected), e.Got.Type(), ssh.FingerprintSHA256(e.Got))
}

// clientConfig builds the x/crypto configuration of one endpoint. The returned cleanup closes
// the agent connection, if one was opened; call it once dialling is over.
func clientConfig(e *Endpoint) (*ssh.ClientConfig, func(), error) {
	cfg := &ssh.ClientConfig{User: e.User, Timeout: e.PerDialTimeout}
	cleanup := func() {}
	if err := setHostKeyCheck(cfg, e); err != nil {
		return nil, cleanup, err
	}

	var signers []ssh.Signer
	if e.PrivateKey != nil {
		signer, err := parseKey(e)
		if err != nil {
			return nil, cleanup, err
		}
		signers = append(signers, signer)
	}
	agentClient, conn, err := openAgent(e)
	if err != nil {
		return nil, cleanup, err
	}
	if conn != nil {
		cleanup = func() { _ = conn.Close() }
	}
	if len(signers) > 0 || agentClient != nil {
		// One publickey method for the key and the agent's keys: x/crypto tries each method
		// name once, so a second PublicKeys method would never be attempted.
		cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			if agentClient == nil {
				return signers, nil
			}
			fromAgent, err := agentClient.Signers()
			if err != nil {
				// An agent that fails is skipped: the key, if any, still counts.
				return signers, nil
			}
			return append(append([]ssh.Signer{}, signers...), fromAgent...), nil
		}))
	}
	if e.Password != nil {
		password := *e.Password
		cfg.Auth = append(cfg.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	return cfg, cleanup, nil
}

func setHostKeyCheck(cfg *ssh.ClientConfig, e *Endpoint) error {
	if e.HostKey == nil {
		// Upstream semantics: without hostKey the server's key is not checked.
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey()
		return nil
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*e.HostKey))
	if err != nil {
		return &configError{fmt.Errorf("hostKey of %s is not an authorized_keys line: %w", e.Address(), err)}
	}
	cfg.HostKeyCallback = func(_ string, _ net.Addr, got ssh.PublicKey) error {
		if string(got.Marshal()) != string(want.Marshal()) {
			return &HostKeyMismatchError{Host: e.Address(), Expected: want, Got: got}
		}
		return nil
	}
	// Ask the server for exactly this kind of key, so a host with several keys presents the one
	// we can compare. An RSA key is signed with SHA-2: OpenSSH >= 8.8 refuses SHA-1 ("ssh-rsa").
	cfg.HostKeyAlgorithms = []string{want.Type()}
	if want.Type() == ssh.KeyAlgoRSA {
		cfg.HostKeyAlgorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return nil
}

func parseKey(e *Endpoint) (ssh.Signer, error) {
	var signer ssh.Signer
	var err error
	if e.PrivateKeyPassword != nil {
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*e.PrivateKey), []byte(*e.PrivateKeyPassword))
	} else {
		signer, err = ssh.ParsePrivateKey([]byte(*e.PrivateKey))
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, &configError{fmt.Errorf("privateKey for %s is encrypted: set privateKeyPassword", e)}
	case err != nil:
		// x/crypto's parse errors never quote the key material.
		return nil, &configError{fmt.Errorf("privateKey for %s: %w", e, err)}
	}
	return signer, nil
}

// openAgent connects to the ssh-agent. An explicit agentSocketPath that cannot be reached is an
// error (as upstream); a stale $SSH_AUTH_SOCK is skipped, so key or password auth still works.
func openAgent(e *Endpoint) (agent.ExtendedAgent, net.Conn, error) {
	path, explicit := "", e.AgentSocketPath != nil
	if explicit {
		path = *e.AgentSocketPath
	} else {
		path = os.Getenv("SSH_AUTH_SOCK")
	}
	if path == "" {
		return nil, nil, nil
	}
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		if explicit {
			return nil, nil, &configError{fmt.Errorf("agentSocketPath for %s: %w", e, err)}
		}
		return nil, nil, nil
	}
	return agent.NewClient(conn), conn, nil
}
