package sshconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Client is an authenticated connection to the target, plus the bastion connection it runs over.
type Client struct {
	ssh     *ssh.Client
	bastion *ssh.Client
	name    string

	lost      atomic.Pointer[error] // why keep-alives dropped the connection
	done      chan struct{}
	closeOnce sync.Once
}

func newClient(c, bastion *ssh.Client, name string, opts Options) *Client {
	client := &Client{ssh: c, bastion: bastion, name: name, done: make(chan struct{})}
	if opts.KeepAliveInterval > 0 {
		go client.keepAlive(opts.KeepAliveInterval, max(opts.KeepAliveMaxMissed, 1))
	}
	return client
}

// Close closes the target connection and then the bastion connection.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		err = c.ssh.Close()
		if c.bastion != nil {
			_ = c.bastion.Close()
		}
	})
	return err
}

// keepAlive sends keepalive@openssh.com requests (any reply, even a refusal, proves the peer is
// there) and closes the connection after maxMissed intervals without one. Long commands such as
// kubeadm init stay silent for minutes; without this a dropped path would hang them forever, and
// idle-connection timeouts on the way (NAT, firewalls) would cut them.
func (c *Client) keepAlive(interval time.Duration, maxMissed int) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var unanswered atomic.Int32
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
		}
		if int(unanswered.Add(1)) > maxMissed {
			err := fmt.Errorf("lost the connection to %s: no reply to %d keep-alives sent every %s",
				c.name, maxMissed, interval)
			c.lost.Store(&err)
			_ = c.Close()
			return
		}
		go func() {
			if _, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				unanswered.Store(0)
			}
		}()
	}
}

func (c *Client) lostErr() error {
	if p := c.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// ErrEnvRefused: the server did not accept an environment variable (sshd's AcceptEnv).
var ErrEnvRefused = errors.New("the SSH server refused the environment variable (it must be listed in sshd's AcceptEnv)")

// Session is one remote command on a Client.
type Session struct {
	s *ssh.Session
	c *Client
}

// NewSession opens a session channel.
func (c *Client) NewSession() (*Session, error) {
	s, err := c.ssh.NewSession()
	if err != nil {
		if lost := c.lostErr(); lost != nil {
			return nil, lost
		}
		return nil, fmt.Errorf("open a session on %s: %w", c.name, err)
	}
	return &Session{s: s, c: c}, nil
}

// Setenv asks the server to set an environment variable; the error carries neither name nor value.
func (s *Session) Setenv(name, value string) error {
	if err := s.s.Setenv(name, value); err != nil {
		return ErrEnvRefused
	}
	return nil
}

// Streams are the command's standard streams; nil Stdin sends an immediate EOF.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// KillGrace is how long a cancelled command gets between SIGTERM and SIGKILL.
var KillGrace = 2 * time.Second

// ErrCancelled wraps the context error when a running command was stopped.
var ErrCancelled = errors.New("cancelled")

// Run runs cmd and waits for it. The result is nil, an *ssh.ExitError (exit code or signal), or
// an error saying why the command's fate is unknown. When ctx ends first the remote process
// group gets SIGTERM, then SIGKILL after KillGrace (sshd delivers "signal" requests with
// killpg), and the channel and connection are closed.
func (s *Session) Run(ctx context.Context, cmd string, streams Streams) error {
	defer func() { _ = s.s.Close() }()
	s.s.Stdin, s.s.Stdout, s.s.Stderr = streams.Stdin, streams.Stdout, streams.Stderr
	if err := s.s.Start(cmd); err != nil {
		return fmt.Errorf("start the command on %s: %w", s.c.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.s.Wait() }()
	select {
	case err := <-done:
		if lost := s.c.lostErr(); lost != nil {
			return lost
		}
		var missing *ssh.ExitMissingError
		if errors.As(err, &missing) {
			return fmt.Errorf("the connection to %s closed before the command reported an exit status", s.c.name)
		}
		return err
	case <-ctx.Done():
		_ = s.s.Signal(ssh.SIGTERM)
		select {
		case <-done:
		case <-time.After(KillGrace):
			_ = s.s.Signal(ssh.SIGKILL)
			select {
			case <-done:
			case <-time.After(time.Second):
			}
		}
		_ = s.c.Close()
		return fmt.Errorf("%w on %s (the remote command was sent SIGTERM): %w", ErrCancelled, s.c.name, ctx.Err())
	}
}
