package sshconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options tune a connection beyond what the `connection` input says.
type Options struct {
	// KeepAliveInterval is how often a keepalive@openssh.com request is sent; 0 disables them.
	KeepAliveInterval time.Duration
	// KeepAliveMaxMissed unanswered keep-alives in a row close the connection (like OpenSSH's
	// ServerAliveCountMax), so a dead peer fails the command instead of hanging it forever.
	KeepAliveMaxMissed int
	// RetryDelay is the first pause between dial attempts; it doubles up to maxRetryDelay.
	RetryDelay time.Duration
	// Status receives progress messages (retries). They never contain credentials.
	Status func(msg string)
}

// DefaultOptions: keep-alives every 10 s, dropped after 3 missed (OpenSSH's ServerAliveCountMax
// default), first retry after 1 s.
func DefaultOptions() Options {
	return Options{KeepAliveInterval: 10 * time.Second, KeepAliveMaxMissed: 3, RetryDelay: time.Second}
}

const (
	maxRetryDelay = 5 * time.Second
	minAttempt    = 100 * time.Millisecond
)

func (o *Options) status(format string, args ...any) {
	if o.Status != nil {
		o.Status(fmt.Sprintf(format, args...))
	}
}

// Dial connects to the target (through its proxy, if any), retrying within the endpoint's
// dialErrorLimit and perDialTimeout, and starts keep-alives.
func Dial(ctx context.Context, t *Target, opts Options) (*Client, error) {
	cfg, cleanup, err := clientConfig(&t.Endpoint)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var client, bastion *ssh.Client
	if t.Proxy == nil {
		client, err = retry(ctx, &opts, "connect to "+t.String(), &t.Endpoint,
			func(ctx context.Context, timeout time.Duration) (*ssh.Client, error) {
				return dialTCP(ctx, t.Address(), cfg, timeout)
			})
	} else {
		client, bastion, err = dialViaProxy(ctx, t, cfg, &opts)
	}
	if err != nil {
		return nil, err
	}
	return newClient(client, bastion, t.String(), opts), nil
}

func dialViaProxy(ctx context.Context, t *Target, cfg *ssh.ClientConfig, opts *Options) (*ssh.Client, *ssh.Client, error) {
	proxyCfg, cleanup, err := clientConfig(t.Proxy)
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: %w", err)
	}
	defer cleanup()
	var bastion *ssh.Client
	var bastionGone chan struct{}
	connectBastion := func() error {
		b, err := retry(ctx, opts, "connect to proxy "+t.Proxy.String(), t.Proxy,
			func(ctx context.Context, timeout time.Duration) (*ssh.Client, error) {
				return dialTCP(ctx, t.Proxy.Address(), proxyCfg, timeout)
			})
		if err != nil {
			return err
		}
		gone := make(chan struct{})
		go func() { _ = b.Wait(); close(gone) }()
		bastion, bastionGone = b, gone
		return nil
	}
	if err := connectBastion(); err != nil {
		return nil, nil, err
	}
	what := "connect to " + t.String() + " via proxy " + t.Proxy.Address()
	client, err := retry(ctx, opts, what, &t.Endpoint, func(ctx context.Context, timeout time.Duration) (*ssh.Client, error) {
		select {
		case <-bastionGone:
			if err := connectBastion(); err != nil {
				return nil, &configError{err} // the bastion's own retries are used up
			}
		default:
		}
		// A fresh direct-tcpip channel per attempt: a channel on which a handshake failed or
		// timed out is unusable (upstream retried the handshake on the same one).
		dialCtx, cancel := withTimeout(ctx, timeout)
		conn, err := bastion.DialContext(dialCtx, "tcp", t.Address())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("proxy %s cannot open a channel to %s: %w", t.Proxy.Address(), t.Address(), err)
		}
		return handshake(ctx, conn, t.Address(), cfg, timeout)
	})
	if err != nil {
		_ = bastion.Close()
		return nil, nil, err
	}
	return client, bastion, nil
}

func dialTCP(ctx context.Context, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return handshake(ctx, conn, addr, cfg, timeout)
}

// handshake runs the SSH handshake over conn. x/crypto's ClientConfig.Timeout only bounds the
// TCP connect, and a server that accepts but never answers would stall us forever, so the whole
// handshake is bounded here (by closing conn, which also works for proxied channels).
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() { _ = conn.Close() })
	}
	stopCtx := context.AfterFunc(ctx, func() { _ = conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	// Stop reports false when the closing function already ran (or is running): then the
	// connection is gone, whatever NewClientConn returned.
	timerFired := timer != nil && !timer.Stop()
	ctxFired := !stopCtx()
	switch {
	case ctxFired:
		err = fmt.Errorf("cancelled: %w", ctx.Err())
	case timerFired:
		err = fmt.Errorf("no SSH handshake within %s", timeout)
	}
	if err != nil {
		if c != nil {
			_ = c.Close()
		}
		_ = conn.Close()
		return nil, err
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// retry calls attempt until it succeeds, a permanent error occurs, the endpoint's
// dialErrorLimit is exceeded or the time budget of dialErrorLimit × perDialTimeout is spent
// (so an unreachable host fails within that bound, backoff pauses included).
func retry[T any](ctx context.Context, opts *Options, what string, e *Endpoint,
	attempt func(context.Context, time.Duration) (T, error),
) (T, error) {
	var zero T
	start := time.Now()
	var deadline time.Time
	if e.DialErrorLimit >= 0 && e.PerDialTimeout > 0 {
		deadline = start.Add(time.Duration(max(e.DialErrorLimit, 1)) * e.PerDialTimeout)
	}
	limit := "unlimited"
	if e.DialErrorLimit >= 0 {
		limit = strconv.Itoa(e.DialErrorLimit + 1)
	}
	delay := opts.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	for failures := 1; ; failures++ {
		timeout := e.PerDialTimeout
		if !deadline.IsZero() {
			// The last attempt gets what is left of the budget, but never nothing: a timeout
			// <= 0 would mean no bound at all.
			timeout = max(min(timeout, time.Until(deadline)), minAttempt)
		}
		v, err := attempt(ctx, timeout)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("%s: cancelled: %w", what, ctx.Err())
		}
		if isPermanent(err) {
			return zero, fmt.Errorf("%s: %w", what, err)
		}
		outOfTime := !deadline.IsZero() && time.Until(deadline) <= 0
		if outOfTime || (e.DialErrorLimit >= 0 && failures > e.DialErrorLimit) {
			return zero, fmt.Errorf("%s: giving up after %d failed attempt(s) in %s (dialErrorLimit %d, perDialTimeout %s): %w",
				what, failures, time.Since(start).Round(100*time.Millisecond), e.DialErrorLimit, e.PerDialTimeout, err)
		}
		pause := delay
		if !deadline.IsZero() {
			pause = min(pause, time.Until(deadline))
		}
		opts.status("%s: attempt %d/%s failed, retrying in %s: %v", what, failures, limit, pause.Round(time.Millisecond), err)
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("%s: cancelled: %w", what, ctx.Err())
		case <-time.After(pause):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

func isPermanent(err error) bool {
	var cfgErr *configError
	var mismatch *HostKeyMismatchError
	return errors.As(err, &cfgErr) || errors.As(err, &mismatch)
}

func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}
