package provider

// The provider's gRPC methods, called as the engine calls them, against real sshd: a target
// reached through a bastion.

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"k8s-platform/providers/command/internal/sshdtest"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the command did not write %s: %v", path, err)
	}
	return string(b)
}

func TestCreateUpdateDeleteThroughBastion(t *testing.T) {
	t.Parallel()
	h := startHosts(t, sshdtest.Options{})
	s, host := newServer()
	dir := t.TempDir()
	inputs := resource.PropertyMap{
		"connection": h.connection(),
		"create":     resource.NewStringProperty(`echo "$SSHD_ROLE" >> ` + dir + `/created; echo created-out; echo created-err >&2`),
		"update":     resource.NewStringProperty(`echo "$PULUMI_COMMAND_STDOUT" > ` + dir + `/prev; echo updated-out`),
		"delete":     resource.NewStringProperty(`echo "$PULUMI_COMMAND_STDOUT" > ` + dir + `/deleted`),
		"triggers":   resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("v1")}),
	}
	checked := check(t, s, "cmd", inputs)

	// Preview: nothing runs, the outputs are unknown.
	previewed, err := create(t, s, "cmd", checked, true)
	if err != nil {
		t.Fatal(err)
	}
	if !isUnknown(previewed["stdout"]) || !isUnknown(previewed["stderr"]) {
		t.Fatalf("preview outputs must be unknown: %v", previewed)
	}
	if _, err := os.Stat(filepath.Join(dir, "created")); err == nil {
		t.Fatal("a preview ran the create command")
	}

	state, err := create(t, s, "cmd", checked, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "created")); got != "target\n" {
		t.Fatalf("create ran on %q, want the target", got)
	}
	if stringOf(t, state, "stdout") != "created-out" || stringOf(t, state, "stderr") != "created-err" {
		t.Fatalf("outputs: %v", state)
	}
	if !state["connection"].IsSecret() || state["stdout"].IsSecret() {
		t.Fatalf("connection secret, plain outputs expected: %v", state)
	}
	if log := host.text(); !strings.Contains(log, "info cmd: created-out") || !strings.Contains(log, "info cmd: created-err") {
		t.Fatalf("output lines are not logged with the resource:\n%s", log)
	}

	// Diff: a changed update command is an update; a changed trigger replaces.
	changed := checked.Copy()
	changed["update"] = resource.NewStringProperty(checked["update"].StringValue() + "; true")
	assertDiff(t, s, state, checked, changed, nil, map[string]pulumirpc.PropertyDiff_Kind{"update": pulumirpc.PropertyDiff_UPDATE})
	retriggered := checked.Copy()
	retriggered["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("v2")})
	assertDiff(t, s, state, checked, retriggered, []string{"triggers"},
		map[string]pulumirpc.PropertyDiff_Kind{"triggers[0]": pulumirpc.PropertyDiff_UPDATE_REPLACE})
	assertDiff(t, s, state, checked, checked, nil, map[string]pulumirpc.PropertyDiff_Kind{})

	// Update: preview is unknown and runs nothing; apply runs `update` with the previous stdout.
	upd, err := update(t, s, "cmd", state, changed, true)
	if err != nil || !isUnknown(upd["stdout"]) {
		t.Fatalf("preview update: %v %v", upd, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "prev")); err == nil {
		t.Fatal("a preview ran the update command")
	}
	state, err = update(t, s, "cmd", state, changed, false)
	if err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "prev")) != "created-out\n" || stringOf(t, state, "stdout") != "updated-out" {
		t.Fatalf("update did not see PULUMI_COMMAND_STDOUT or set stdout: %v", state)
	}
	// Without `update`, an update runs `create` again.
	noUpdate := changed.Copy()
	delete(noUpdate, "update")
	if state, err = update(t, s, "cmd", state, noUpdate, false); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "created")) != "target\ntarget\n" || stringOf(t, state, "stdout") != "created-out" {
		t.Fatalf("create was not run for the update: %v", state)
	}

	// Refresh keeps the state; delete runs the stored delete over the stored connection.
	read, err := s.Read(context.Background(), &pulumirpc.ReadRequest{Id: "cmd1", Urn: urn("cmd"), Properties: toStruct(t, state)})
	if err != nil || read.Id != "cmd1" || !fromStruct(t, read.Properties).DeepEquals(state) {
		t.Fatalf("read: %v %v", read, err)
	}
	if err := del(t, s, "cmd", state); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "deleted")); got != "created-out\n" {
		t.Fatalf("delete saw PULUMI_COMMAND_STDOUT=%q", got)
	}
}

func assertDiff(t *testing.T, s *Server, state, olds, news resource.PropertyMap, replaces []string,
	detailed map[string]pulumirpc.PropertyDiff_Kind,
) {
	t.Helper()
	resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urn("cmd"), Olds: toStruct(t, state), OldInputs: toStruct(t, olds), News: toStruct(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]pulumirpc.PropertyDiff_Kind{}
	for k, v := range resp.DetailedDiff {
		got[k] = v.Kind
	}
	wantChanges := pulumirpc.DiffResponse_DIFF_SOME
	if len(detailed) == 0 {
		wantChanges = pulumirpc.DiffResponse_DIFF_NONE
	}
	if resp.Changes != wantChanges || !reflect.DeepEqual(got, detailed) || len(resp.Replaces) != len(replaces) ||
		(len(replaces) > 0 && !reflect.DeepEqual(resp.Replaces, replaces)) || !resp.HasDetailedDiff {
		t.Fatalf("diff: got changes %v replaces %v detailed %v; want replaces %v detailed %v",
			resp.Changes, resp.Replaces, got, replaces, detailed)
	}
}

func TestFailedCommandNamesResourceExitCodeAndOutputTail(t *testing.T) {
	t.Parallel()
	h := startHosts(t, sshdtest.Options{})
	s, host := newServer()
	cmd := `for i in $(seq 1 30); do echo line$i; done; echo went-wrong >&2; exit 3`
	inputs := check(t, s, "failing", resource.PropertyMap{"connection": h.connection(), "create": resource.NewStringProperty(cmd)})
	_, err := create(t, s, "failing", inputs, false)
	if err == nil {
		t.Fatal("the command failed, Create did not")
	}
	for _, want := range []string{`command:remote:Command "failing"`, "create", "exit code 3", "line30", "went-wrong"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%s", want, err)
		}
	}
	// stderr is shown under its own name whatever order SSH delivered the two streams in.
	if !strings.Contains(err.Error(), "stderr:\n    went-wrong") {
		t.Errorf("the error does not show stderr's tail under its name:\n%s", err)
	}
	if strings.Contains(err.Error(), "line5\n") || strings.Contains(err.Error(), "seq 1 30") {
		t.Errorf("the error shows more than the tail, or the command itself:\n%s", err)
	}

	// logging "none": neither the log nor the error shows any output; stdout still streams
	// for "stdout" but stderr does not.
	quiet := inputs.Copy()
	quiet["logging"] = resource.NewStringProperty("none")
	_, err = create(t, s, "quiet", check(t, s, "quiet", quiet), false)
	if err == nil || !strings.Contains(err.Error(), `withheld because logging is "none"`) || strings.Contains(err.Error(), "line30") {
		t.Fatalf("logging none: %v", err)
	}
	if strings.Contains(host.text(), "quiet: line") {
		t.Fatal("logging none still logged output")
	}
	onlyOut := inputs.Copy()
	onlyOut["logging"] = resource.NewStringProperty("stdout")
	_, _ = create(t, s, "only-out", check(t, s, "only-out", onlyOut), false)
	if log := host.text(); !strings.Contains(log, "only-out: line30") || strings.Contains(log, "only-out: went-wrong") {
		t.Fatalf("logging stdout:\n%s", log)
	}
}

func TestSecretInputsNeverReachLogsOrErrors(t *testing.T) {
	t.Parallel()
	h := startHosts(t, sshdtest.Options{})
	s, host := newServer()
	const stdinSecret, envSecret = "stdin-secret-4711", "env-secret-0815"
	inputs := func(name, cmd string) resource.PropertyMap {
		return check(t, s, name, resource.PropertyMap{
			"connection":  h.connection(),
			"create":      resource.NewStringProperty(cmd),
			"stdin":       secret(stdinSecret),
			"environment": obj(map[string]any{"TEST_TOKEN": secret(envSecret)}),
		})
	}
	state, err := create(t, s, "ok", inputs("ok", `cat; echo; echo "$TEST_TOKEN"; echo "$TEST_TOKEN" >&2`), false)
	if err != nil {
		t.Fatal(err)
	}
	if !state["stdout"].IsSecret() || !state["stderr"].IsSecret() {
		t.Fatalf("outputs of secret inputs must be secret: %v", state)
	}
	if got := stringOf(t, state, "stdout"); got != stdinSecret+"\n"+envSecret {
		t.Fatalf("stdin or environment did not arrive: %q", got)
	}
	_, err = create(t, s, "bad", inputs("bad", `cat; echo "$TEST_TOKEN"; echo "$TEST_TOKEN" >&2; exit 4`), false)
	if err == nil || !strings.Contains(err.Error(), "exit code 4") || !strings.Contains(err.Error(), "withheld") {
		t.Fatalf("want a failure with the output withheld, got %v", err)
	}
	for what, text := range map[string]string{"error": err.Error(), "log": host.text()} {
		if strings.Contains(text, stdinSecret) || strings.Contains(text, envSecret) {
			t.Fatalf("a secret reached the %s:\n%s", what, text)
		}
	}
	// Delete with the stored (secret) state behaves the same.
	state["delete"] = resource.NewStringProperty(`cat; exit 5`)
	if err := del(t, s, "ok", state); err == nil || strings.Contains(err.Error(), stdinSecret) {
		t.Fatalf("delete: %v", err)
	}
}

func TestRefusedEnvironmentVariableIsNamedButNotItsValue(t *testing.T) {
	t.Parallel()
	h := startHosts(t, sshdtest.Options{})
	s, _ := newServer()
	inputs := check(t, s, "env", resource.PropertyMap{
		"connection":  h.connection(),
		"create":      resource.NewStringProperty("true"),
		"environment": obj(map[string]any{"NOT_ACCEPTED": "value-9876"}),
	})
	_, err := create(t, s, "env", inputs, false)
	if err == nil || !strings.Contains(err.Error(), `"NOT_ACCEPTED"`) || !strings.Contains(err.Error(), "AcceptEnv") ||
		strings.Contains(err.Error(), "value-9876") {
		t.Fatalf("want an AcceptEnv error naming the variable only, got %v", err)
	}
}
