package provider

import (
	"context"
	"sort"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	// Even with failures the returned inputs have their secrets marked, so that a preview
	// that stops here shows no secret in clear.
	checked, failures := checkInputs(news)
	inputs, err := marshal("inputs", checked)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff compares the old and new inputs. A change below `triggers` replaces the resource (its
// schema flag replaceOnChanges); anything else is an in-place update, which runs `update`
// (or `create`). The detailed diff lets the engine apply replaceOnChanges paths such as the
// Python SDK's "triggers[*]".
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal("olds", req.GetOlds())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal("oldInputs", req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		olds = inputsOf(state) // an engine that does not send old inputs
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	news = keepIgnored(news, state, req.GetIgnoreChanges())

	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	d := withoutEngineKeys(olds).Diff(withoutEngineKeys(news))
	if d == nil || !d.AnyChanges() {
		return resp, nil
	}
	resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	diffs, replaces := map[string]bool{}, map[string]bool{}
	for path, pd := range plugin.NewDetailedDiffFromObjectDiff(d, true) {
		root := rootKey(path)
		kind := pd.Kind
		if replacesOnChange(root) {
			kind = kind.AsReplace()
			replaces[root] = true
		}
		diffs[root] = true
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: rpcKind(kind), InputDiff: true}
	}
	resp.Diffs, resp.Replaces = sortedSet(diffs), sortedSet(replaces)
	return resp, nil
}

func (s *Server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := unmarshal("properties", req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, err := resource.NewUniqueHex(name(req.GetName(), req.GetUrn()), 8, 0)
	if err != nil {
		return nil, err
	}
	state := inputs.Copy()
	var stdout, stderr resource.PropertyValue
	if req.GetPreview() {
		stdout, stderr = unknown(), unknown()
	} else {
		out, errOut := "", ""
		if cmd, ok := str(inputs, "create"); ok {
			ctx, done := s.operation(ctx, req.GetTimeout())
			defer done()
			st := step{urn: resource.URN(req.GetUrn()), op: "create", command: cmd, inputs: inputs}
			if out, errOut, err = s.run(ctx, st); err != nil {
				return nil, err
			}
		}
		stdout, stderr = resource.NewStringProperty(out), resource.NewStringProperty(errOut)
	}
	props, err := outputs(state, stdout, stderr)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Update runs `update`, or `create` when there is none, with the new inputs; the previous
// outputs are passed as PULUMI_COMMAND_STDOUT/STDERR.
func (s *Server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal("olds", req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	news = keepIgnored(news, olds, req.GetIgnoreChanges())
	prevOut, _ := str(olds, "stdout")
	prevErr, _ := str(olds, "stderr")
	stdout, stderr := resource.NewStringProperty(prevOut), resource.NewStringProperty(prevErr)
	cmd, ok := str(news, "update")
	if !ok {
		cmd, ok = str(news, "create")
	}
	switch {
	case req.GetPreview():
		stdout, stderr = unknown(), unknown()
	case ok:
		ctx, done := s.operation(ctx, req.GetTimeout())
		defer done()
		st := step{urn: resource.URN(req.GetUrn()), op: "update", command: cmd, inputs: news,
			prevStdout: prevOut, prevStderr: prevErr}
		out, errOut, err := s.run(ctx, st)
		if err != nil {
			return nil, err
		}
		stdout, stderr = resource.NewStringProperty(out), resource.NewStringProperty(errOut)
	}
	props, err := outputs(news.Copy(), stdout, stderr)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs the stored `delete` command with the stored connection.
func (s *Server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal("properties", req.GetProperties())
	if err != nil {
		return nil, err
	}
	cmd, ok := str(state, "delete")
	if !ok {
		return &emptypb.Empty{}, nil
	}
	prevOut, _ := str(state, "stdout")
	prevErr, _ := str(state, "stderr")
	ctx, done := s.operation(ctx, req.GetTimeout())
	defer done()
	st := step{urn: resource.URN(req.GetUrn()), op: "delete", command: cmd, inputs: state,
		prevStdout: prevOut, prevStderr: prevErr}
	if _, _, err := s.run(ctx, st); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Read (refresh) returns the recorded state: what a command did cannot be read back.
func (s *Server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal("properties", req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal("inputs", req.GetInputs())
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		inputs = inputsOf(state)
	}
	props, err := marshal("properties", state)
	if err != nil {
		return nil, err
	}
	ins, err := marshal("inputs", inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: ins}, nil
}

// operation derives the context of one command run: it ends with the request, on Cancel, or
// after the resource's customTimeouts (timeout in seconds, 0 for none).
func (s *Server) operation(ctx context.Context, timeout float64) (context.Context, context.CancelFunc) {
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout*float64(time.Second)))
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(s.cancelled, cancel)
	return ctx, func() { stop(); cancel() }
}

// outputs is the state: the inputs plus stdout and stderr, with the connection secret and the
// outputs secret when the inputs that produce them are.
func outputs(state resource.PropertyMap, stdout, stderr resource.PropertyValue) (*structpb.Struct, error) {
	if v, ok := state["connection"]; ok && !v.IsSecret() {
		state["connection"] = resource.MakeSecret(v)
	}
	if outputsAreSecret(state) {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	state["stdout"], state["stderr"] = stdout, stderr
	return marshal("outputs", state)
}

func unknown() resource.PropertyValue { return resource.MakeComputed(resource.NewStringProperty("")) }

// inputsOf picks the input properties out of a state.
func inputsOf(state resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, p := range commandInputs.props {
		if v, ok := state[resource.PropertyKey(p.name)]; ok {
			out[resource.PropertyKey(p.name)] = v
		}
	}
	return out
}

// keepIgnored applies ignoreChanges: those paths keep their recorded values.
func keepIgnored(news, state resource.PropertyMap, paths []string) resource.PropertyMap {
	if len(paths) == 0 {
		return news
	}
	newsObj, stateObj := resource.NewObjectProperty(news.Copy()), resource.NewObjectProperty(state)
	for _, p := range paths {
		path, err := resource.ParsePropertyPath(p)
		if err != nil {
			continue
		}
		if v, ok := path.Get(stateObj); ok {
			path.Set(newsObj, v)
		}
	}
	return newsObj.ObjectValue()
}

func rootKey(path string) string {
	if p, err := resource.ParsePropertyPath(path); err == nil && len(p) > 0 {
		if k, ok := p[0].(string); ok {
			return k
		}
	}
	return path
}

func replacesOnChange(key string) bool {
	for _, p := range commandInputs.props {
		if p.name == key {
			return p.replace
		}
	}
	return false
}

func rpcKind(k plugin.DiffKind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case plugin.DiffAdd:
		return pulumirpc.PropertyDiff_ADD
	case plugin.DiffAddReplace:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case plugin.DiffDelete:
		return pulumirpc.PropertyDiff_DELETE
	case plugin.DiffDeleteReplace:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case plugin.DiffUpdateReplace:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	default:
		return pulumirpc.PropertyDiff_UPDATE
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
