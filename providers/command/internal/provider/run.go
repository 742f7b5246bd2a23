package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"

	"k8s-platform/providers/command/internal/sshconn"
)

// step is one run of a resource's command.
type step struct {
	urn        resource.URN
	op         string               // create, update or delete
	command    string               // never printed: it may be secret
	inputs     resource.PropertyMap // the inputs (for delete: the state)
	prevStdout string               // outputs of the previous run, for PULUMI_COMMAND_STDOUT/STDERR
	prevStderr string
}

func (st *step) errorf(format string, args ...any) error {
	return fmt.Errorf("%s %q: %s: %w", commandToken, st.urn.Name(), st.op, fmt.Errorf(format, args...))
}

const (
	tailBytes = 4096     // of the output kept for an error message
	tailLines = 20       // of those shown
	maxLine   = 64 << 10 // a longer line is logged in pieces
)

// run connects, runs the command and returns its stdout and stderr (one trailing newline
// trimmed, as upstream).
func (s *Server) run(ctx context.Context, st step) (string, string, error) {
	secret := outputsAreSecret(st.inputs)
	logging, ok := str(st.inputs, "logging")
	if !ok {
		logging = "stdoutAndStderr"
	}
	t, err := target(st.inputs)
	if err != nil {
		return "", "", st.errorf("%w", err)
	}
	opts := s.ssh
	opts.Status = func(msg string) { s.status(ctx, st.urn, msg) }
	client, err := sshconn.Dial(ctx, t, opts)
	if err != nil {
		return "", "", st.errorf("%w", err)
	}
	defer func() { _ = client.Close() }()
	sess, err := client.NewSession()
	if err != nil {
		return "", "", st.errorf("%w", err)
	}
	if err := s.setEnv(ctx, sess, st); err != nil {
		return "", "", st.errorf("%w", err)
	}

	out := &capture{}
	if !secret {
		out.log = func(line string) { s.info(ctx, st.urn, line) }
	} else if logging != "none" {
		s.status(ctx, st.urn, fmt.Sprintf("the %s command's output is not shown: its command, stdin or environment are secret", st.op))
	}
	stdout := &streamWriter{c: out, name: "stdout", buf: &out.stdout, logged: logging == "stdout" || logging == "stdoutAndStderr"}
	stderr := &streamWriter{c: out, name: "stderr", buf: &out.stderr, logged: logging == "stderr" || logging == "stdoutAndStderr"}
	out.tails = []*streamWriter{stderr, stdout}
	streams := sshconn.Streams{Stdout: stdout, Stderr: stderr}
	if stdin, ok := str(st.inputs, "stdin"); ok && stdin != "" {
		streams.Stdin = strings.NewReader(stdin)
	}
	err = sess.Run(ctx, st.command, streams)
	out.flush(stdout, stderr)
	if err != nil {
		return "", "", st.failed(err, out, logging, secret)
	}
	return strings.TrimSuffix(out.stdout.String(), "\n"), strings.TrimSuffix(out.stderr.String(), "\n"), nil
}

// setEnv passes `environment` (a refusal is an error, as upstream) and the previous outputs
// (a refusal is a warning). Values are never printed; names only when they are not secret.
func (s *Server) setEnv(ctx context.Context, sess *sshconn.Session, st step) error {
	if env, ok := object(st.inputs, "environment"); ok {
		wholeMapSecret := st.inputs["environment"].IsSecret()
		for _, k := range env.StableKeys() {
			v := plain(env[k])
			if !v.IsString() {
				continue
			}
			if err := sess.Setenv(string(k), v.StringValue()); err != nil {
				if wholeMapSecret {
					return fmt.Errorf("could not set a variable of the (secret) environment: %w", err)
				}
				return fmt.Errorf("could not set environment variable %q: %w", k, err)
			}
		}
	}
	if v := plain(st.inputs["addPreviousOutputInEnv"]); v.IsBool() && !v.BoolValue() {
		return nil
	}
	for _, kv := range [][2]string{{"PULUMI_COMMAND_STDOUT", st.prevStdout}, {"PULUMI_COMMAND_STDERR", st.prevStderr}} {
		name, value := kv[0], kv[1]
		if value == "" {
			continue
		}
		if err := sess.Setenv(name, value); err != nil {
			s.warn(ctx, st.urn, fmt.Sprintf("%s is not set for the %s command: %v", name, st.op, err))
		}
	}
	return nil
}

// failed builds the error of a command that did not succeed: which resource and step, the exit
// code or signal, and the end of the output unless it may hold secrets or logging is off.
func (st *step) failed(err error, out *capture, logging string, secret bool) error {
	var exit *ssh.ExitError
	var msg string
	switch {
	case errors.Is(err, sshconn.ErrCancelled):
		msg = err.Error()
	case errors.As(err, &exit) && exit.Signal() != "":
		msg = fmt.Sprintf("the command was killed by signal %s", exit.Signal())
	case errors.As(err, &exit):
		msg = fmt.Sprintf("the command failed with exit code %d", exit.ExitStatus())
	default:
		msg = fmt.Sprintf("the command did not finish: %v", err)
	}
	tail := out.tailLines()
	switch {
	case secret:
		msg += "; its output is withheld because the command, stdin or environment are secret"
	case logging == "none":
		msg += `; its output is withheld because logging is "none"`
	case tail == "":
		msg += "; it printed nothing"
	default:
		msg += "; the last lines of its output:" + tail
	}
	return st.errorf("%s", msg)
}

// capture collects stdout and stderr for the outputs, keeps the end of each for an error
// message and sends complete lines to the engine as they arrive.
type capture struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	log            func(line string) // nil: nothing is logged
	tails          []*streamWriter   // in the order an error message shows them
}

// streamWriter is one stream's side of a capture. Each stream keeps its own tail because SSH
// delivers stdout and stderr as separate channels in no fixed order: a shared tail could push
// the stderr line that explains a failure out behind stdout that arrived after it.
type streamWriter struct {
	c       *capture
	name    string
	buf     *bytes.Buffer
	logged  bool
	pending []byte
	tail    []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	w.buf.Write(p)
	w.tail = append(w.tail, p...)
	if len(w.tail) > 2*tailBytes {
		w.tail = append([]byte(nil), w.tail[len(w.tail)-tailBytes:]...)
	}
	if !w.logged || c.log == nil {
		return len(p), nil
	}
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 && len(w.pending) < maxLine {
			break
		}
		if i < 0 {
			i = len(w.pending)
		}
		c.log(strings.TrimSuffix(string(w.pending[:i]), "\r"))
		w.pending = w.pending[min(i+1, len(w.pending)):]
	}
	return len(p), nil
}

// flush logs what is left of unterminated last lines.
func (c *capture) flush(writers ...*streamWriter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range writers {
		if len(w.pending) > 0 && w.logged && c.log != nil {
			c.log(string(w.pending))
		}
		w.pending = nil
	}
}

// tailLines renders the last lines of each stream that printed something, stderr first (it
// usually says why), each under its name; "" when neither printed anything.
func (c *capture) tailLines() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, w := range c.tails {
		t := w.tail
		if len(t) > tailBytes {
			t = t[len(t)-tailBytes:]
		}
		text := strings.TrimRight(string(t), "\n")
		if strings.TrimSpace(text) == "" {
			continue
		}
		lines := strings.Split(text, "\n")
		if len(lines) > tailLines {
			lines = lines[len(lines)-tailLines:]
		}
		b.WriteString("\n  " + w.name + ":\n    " + strings.Join(lines, "\n    "))
	}
	return b.String()
}

func (s *Server) info(ctx context.Context, urn resource.URN, msg string) {
	_ = s.host.Log(ctx, diag.Info, urn, msg)
}

func (s *Server) warn(ctx context.Context, urn resource.URN, msg string) {
	_ = s.host.Log(ctx, diag.Warning, urn, msg)
}

// status messages (retries) are ephemeral: shown while the step runs, not kept in the summary.
func (s *Server) status(ctx context.Context, urn resource.URN, msg string) {
	_ = s.host.LogStatus(ctx, diag.Info, urn, msg)
}
