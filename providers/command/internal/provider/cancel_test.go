package provider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"k8s-platform/providers/command/internal/sshdtest"
)

// Cancel (the engine's answer to Ctrl-C) stops a running create: the remote command gets
// SIGTERM and Create returns. The login user is not root, as in the program (sshd only
// delivers signals with privilege separation, i.e. not for root logins).
func TestCancelStopsARunningCreate(t *testing.T) {
	t.Parallel()
	h := startHosts(t, sshdtest.Options{User: "cmdtest"})
	s, _ := newServer()
	started, after := filepath.Join(h.target.Home, "started"), filepath.Join(h.target.Home, "after")
	inputs := check(t, s, "long", resource.PropertyMap{
		"connection": h.connection(),
		"create":     resource.NewStringProperty("touch " + started + "; sleep 300; touch " + after),
	})
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(started); err == nil {
				_, _ = s.Cancel(context.Background(), nil)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start := time.Now()
	_, err := create(t, s, "long", inputs, false)
	if err == nil || !strings.Contains(err.Error(), "cancelled") || !strings.Contains(err.Error(), `"long"`) {
		t.Fatalf("want a cancellation error naming the resource, got %v", err)
	}
	if took := time.Since(start); took > 25*time.Second {
		t.Fatalf("Create returned only after %s", took)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(after); err == nil {
		t.Fatal("the remote command went on after Cancel")
	}
}

func TestUnreachableHostFailsWithinItsDialBudget(t *testing.T) {
	t.Parallel()
	s, host := newServer()
	inputs := check(t, s, "gone", resource.PropertyMap{
		"connection": obj(map[string]any{
			"host": "127.0.0.1", "port": float64(sshdtest.FreePort(t)), "dialErrorLimit": 2.0, "perDialTimeout": 1.0,
		}),
		"create": resource.NewStringProperty("true"),
	})
	start := time.Now()
	_, err := create(t, s, "gone", inputs, false)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), `command:remote:Command "gone": create: connect to root@127.0.0.1`) ||
		!strings.Contains(err.Error(), "giving up after") {
		t.Fatalf("want a dial failure naming the resource and host, got %v", err)
	}
	if took > 3*time.Second { // 2 s budget plus slack for a loaded machine
		t.Fatalf("took %s, more than dialErrorLimit × perDialTimeout = 2s", took)
	}
	if !strings.Contains(host.text(), "(status) connect to root@127.0.0.1") {
		t.Fatalf("retries are not reported as status messages:\n%s", host.text())
	}
}
