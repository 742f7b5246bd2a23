package sshconn

import (
	"net"
	"sync"
	"testing"
	"time"
)

// relay forwards TCP connections to addr. It hangs up on the first `refuse` connections; with
// an empty addr it accepts and never answers; after freeze it swallows all traffic while
// keeping the connections open (a path that went silent).
type relay struct {
	port   int
	frozen chan struct{}
	mu     sync.Mutex
	conns  []net.Conn
}

func newRelay(t *testing.T, addr string, refuse int) *relay {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{port: l.Addr().(*net.TCPAddr).Port, frozen: make(chan struct{})}
	t.Cleanup(func() {
		l.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range r.conns {
			c.Close()
		}
	})
	go func() {
		for n := 1; ; n++ {
			in, err := l.Accept()
			if err != nil {
				return
			}
			if n <= refuse {
				in.Close()
				continue
			}
			r.keep(in)
			if addr == "" {
				continue
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				continue
			}
			r.keep(out)
			go r.pipe(in, out)
			go r.pipe(out, in)
		}
	}()
	return r
}

func (r *relay) keep(c net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = append(r.conns, c)
}

func (r *relay) freeze() { close(r.frozen) }

func (r *relay) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-r.frozen:
			continue
		default:
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Error("condition not met within 10s")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
