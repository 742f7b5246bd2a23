# shellcheck shell=bash source-path=SCRIPTDIR
# Functions for scripts/bootstrap. Source this file; it does nothing on its own.
#
# Cache layout (outside the checkout, shared by every clone on the machine):
#   $K8S_PLATFORM_TOOLCHAIN_DIR/
#     bin/                              pulumi, pulumi-language-python (put on PATH by env.sh)
#     <name>-<version>/<name>           one built binary, plus BUILD-INFO (module, Go, time) and build.log
#     logs/<step>.log                   log of the last run of each step
#     work/<name>-<version>/            scratch copy of a module while it builds (removed on success)

tc_say() { printf '==> %s\n' "$*"; }
tc_note() { printf '    %s\n' "$*"; }
tc_warn() { printf 'bootstrap: warning: %s\n' "$*" >&2; }

# tc_fail STEP LOG: print the end of LOG and a one-line error naming the step and the log.
tc_fail() {
  local step=$1 log=${2:-}
  if [[ -n $log && -s $log ]]; then
    tail -n 20 "$log" | sed 's/^/    | /' >&2
    printf 'bootstrap: FAILED: %s (log: %s)\n' "$step" "$log" >&2
  else
    printf 'bootstrap: FAILED: %s\n' "$step" >&2
  fi
  return 1
}

tc_duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# tc_heartbeat_start / tc_heartbeat_stop: print a line every 2 minutes while a long step runs.
tc_heartbeat_start() {
  local t0=$SECONDS main=$$
  (
    # The nap is killed with the loop: a leftover `sleep` would hold the caller's output pipe open.
    nap=
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 120 &
      nap=$!
      wait "$nap"
      kill -0 "$main" 2>/dev/null || exit 0
      printf '    ... still working (%s)\n' "$(tc_duration $((SECONDS - t0)))"
    done
  ) &
  tc_heartbeat_pid=$!
}
tc_heartbeat_stop() {
  if [[ -n ${tc_heartbeat_pid:-} ]]; then
    kill "$tc_heartbeat_pid" 2>/dev/null || true
    wait "$tc_heartbeat_pid" 2>/dev/null || true
    tc_heartbeat_pid=
  fi
}

# tc_run STEP LOG CMD...: run CMD (a command or a function) with errexit on and all its output
# appended to LOG; on failure report STEP and LOG and return 1.
# Never call it (or a function that calls it) as `tc_run ... || x` or `if tc_run`: bash then
# ignores errexit inside CMD. scripts/bootstrap runs each step in a `set -e` subshell instead.
tc_run() {
  local step=$1 log=$2 rc=0
  shift 2
  mkdir -p "$(dirname "$log")"
  set +e
  ( set -euo pipefail; "$@" ) >>"$log" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    tc_fail "$step" "$log"
    return 1
  fi
}

# tc_pin FILE NAME: the version pinned as NAME==X in a requirements file.
tc_pin() {
  local file=$1 name=$2 v
  v=$(sed -n -E "s/^${name}==([^[:space:];#]+).*/\\1/p" "$file" | head -n 1)
  [[ -n $v ]] || { printf 'bootstrap: FAILED: no "%s==<version>" pin in %s\n' "$name" "$file" >&2; return 1; }
  printf '%s\n' "$v"
}

# tc_version_ge A B: true if version A >= version B.
tc_version_ge() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$2" ]]; }

# tc_load_versions REPO_ROOT: set the version variables from requirements.txt and versions.env.
# The versions are globals read by scripts/bootstrap.
# shellcheck disable=SC2034
tc_load_versions() {
  local root=$1 req=$1/requirements.txt
  PULUMI_VERSION=$(tc_pin "$req" pulumi)
  PULUMI_OPENSTACK_VERSION=$(tc_pin "$req" pulumi-openstack)
  PULUMI_KUBERNETES_VERSION=$(tc_pin "$req" pulumi-kubernetes)
  PULUMI_COMMAND_VERSION=$(tc_pin "$req" pulumi-command)
  PULUMI_CLI_VERSION='' PULUMI_KUBERNETES_MODULE_VERSION='' GO_FALLBACK_TOOLCHAIN='' ACTIONLINT_VERSION=''
  # shellcheck source=versions.env
  . "$root/scripts/toolchain/versions.env"
  PULUMI_CLI_VERSION=${PULUMI_CLI_VERSION:-$PULUMI_VERSION}
  if ! tc_version_ge "$PULUMI_CLI_VERSION" "$PULUMI_VERSION"; then
    printf 'bootstrap: FAILED: PULUMI_CLI_VERSION=%s in scripts/toolchain/versions.env is older than pulumi==%s in requirements.txt\n' \
      "$PULUMI_CLI_VERSION" "$PULUMI_VERSION" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Python virtualenvs

# tc_venv_stamp PYTHON FILE...: a hash of the interpreter version and the requirement files.
tc_venv_stamp() {
  local py=$1
  shift
  { "$py" -c 'import sys; print(sys.version)'; cat "$@"; } | sha256sum | cut -d' ' -f1
}

# tc_ensure_venv VENV REQUIREMENTS [EXTRA_HASHED_FILE...]: create VENV and install REQUIREMENTS,
# unless VENV's stamp shows that these exact requirement files are already installed.
tc_ensure_venv() {
  local venv=$1 req=$2 log stamp_file want
  local rel=${venv#"${REPO_ROOT:-}"/}
  log=$K8S_PLATFORM_TOOLCHAIN_DIR/logs/venv-${rel//\//-}.log
  stamp_file=$venv/.bootstrap-stamp
  : >"$log"
  if [[ ! -x $venv/bin/python ]]; then
    tc_say "creating virtualenv $venv"
    tc_run "create virtualenv $venv" "$log" python3 -m venv "$venv"
  fi
  want=$(tc_venv_stamp "$venv/bin/python" "${@:2}")
  if [[ -f $stamp_file && "$(cat "$stamp_file")" == "$want" ]]; then
    tc_say "virtualenv $venv is up to date with $(basename "$req")"
    return 0
  fi
  tc_say "installing $(basename "$req") into $venv (log: $log)"
  tc_run "pip install -r $req into $venv" "$log" \
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$req"
  printf '%s\n' "$want" >"$stamp_file"
}

# ---------------------------------------------------------------------------------------------
# Go builds

# tc_go_json_field JSON FIELD...: print a field (dotted path) of a JSON object, empty if absent.
tc_go_json_field() {
  python3 -c '
import json, sys
data = json.loads(sys.argv[1] or "{}")
for key in sys.argv[2].split("."):
    data = data.get(key) if isinstance(data, dict) else None
print(data if isinstance(data, str) else "")
' "$1" "$2"
}

# tc_go_download MODULE@QUERY: print `go mod download -json` output; on failure print the
# proxy's error on stderr and return 1.
tc_go_download() {
  local out err
  out=$(cd "$K8S_PLATFORM_TOOLCHAIN_DIR/work" && GOFLAGS=-mod=mod go mod download -json "$1" 2>/dev/null) || true
  err=$(tc_go_json_field "$out" Error)
  if [[ -z $out || -n $err || -z "$(tc_go_json_field "$out" Dir)" ]]; then
    err=${err:-no output}
    err=${err//$'\n'/ }
    printf 'go mod download %s failed: %s\n' "$1" "${err//$'\t'/}" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

# tc_go_for_module GO_MOD_DIR: export GOTOOLCHAIN when the module needs a newer Go than the machine's.
tc_go_for_module() {
  local need have
  need=$(cd "$1" && go mod edit -json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Go") or "")')
  have=$(GOTOOLCHAIN=local go env GOVERSION)
  have=${have#go}
  if [[ -n $need ]] && ! tc_version_ge "$have" "$need"; then
    echo "go.mod needs go $need, the machine has go $have: using GOTOOLCHAIN=$GO_FALLBACK_TOOLCHAIN"
    export GOTOOLCHAIN=$GO_FALLBACK_TOOLCHAIN
  fi
}

# tc_drop_local_replaces PINS: in the go.mod of the current directory, drop every replace that
# points at a path inside the upstream repository (such paths don't exist in a module copy). PINS
# is a space-separated list of module@version: a dropped module listed there is required at that
# version (e.g. github.com/pulumi/pulumi/sdk/v3@v3.274.0 for the CLI built from pkg/v3).
tc_drop_local_replaces() {
  local pins=$1 old pin
  go mod edit -json | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if not r["New"].get("Version"):
        print(r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else ""))
' | while read -r old; do
    echo "go.mod: dropping local replace of $old"
    go mod edit -dropreplace="$old"
    for pin in $pins; do
      if [[ ${pin%@*} == "${old%@*}" ]]; then
        echo "go.mod: requiring $pin"
        go mod edit -require="$pin"
      fi
    done
  done
}

# tc_build_steps: the body of one build, run by tc_run with its output in the build log.
# Uses the variables set by tc_build_go_binary.
tc_build_steps() {
  echo "building $b_name $b_version from $b_module@$b_modversion ($(date -u +%FT%TZ))"
  local out dir
  out=$(tc_go_download "$b_module@$b_modversion")
  dir=$(tc_go_json_field "$out" Dir)
  rm -rf "$b_work"
  mkdir -p "$b_work/out"
  cp -a "$dir" "$b_work/src"
  chmod -R u+w "$b_work/src"
  cd "$b_work/src"
  tc_drop_local_replaces "$b_pins"
  tc_go_for_module .
  export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  if [[ -n $b_generate ]]; then
    echo "go generate ./$b_generate (VERSION=$b_version)"
    (cd "$b_generate" && VERSION=$b_version go generate ./)
  fi
  echo "go build ./$b_package"
  go build -trimpath -tags "$b_tags" -ldflags "-s -w $b_ldflags" -o "$b_work/out/$b_name" "./$b_package"
  "$b_check" "$b_work/out/$b_name" "$b_version"
  {
    echo "name=$b_name"
    echo "version=$b_version"
    echo "module=$b_module@$b_modversion"
    echo "go=$(go env GOVERSION)"
    echo "built=$(date -u +%FT%TZ)"
  } >"$b_work/out/BUILD-INFO"
}

# Checks that a freshly built binary runs and reports the expected version.
tc_check_cli() {
  local got
  got=$("$1" version --non-interactive 2>/dev/null | head -n 1)
  echo "$1 version: $got"
  [[ $got == "v$2" ]]
}
tc_check_version_flag() {
  local got
  got=$("$1" -version 2>/dev/null | head -n 1)
  echo "$1 -version: $got"
  [[ $got == "$2" || $got == "v$2" ]]
}
tc_check_executable() { [[ -x $1 && -s $1 ]]; }

# tc_build_go_binary NAME VERSION MODULE MODVERSION PACKAGE LDFLAGS TAGS GENERATE PINS CHECK
# Ensure $K8S_PLATFORM_TOOLCHAIN_DIR/NAME-VERSION/NAME exists, building it from the Go module
# MODULE@MODVERSION (package PACKAGE inside it) when it doesn't. GENERATE is a package directory
# whose `go generate` must run first (or empty). PINS: see tc_drop_local_replaces. CHECK is a
# function that tests the built binary.
tc_build_go_binary() {
  local b_name=$1 b_version=$2 b_module=$3 b_modversion=$4 b_package=$5 b_ldflags=$6 b_tags=$7
  local b_generate=$8 b_pins=$9 b_check=${10}
  local dest=$K8S_PLATFORM_TOOLCHAIN_DIR/$b_name-$b_version
  local b_work=$K8S_PLATFORM_TOOLCHAIN_DIR/work/$b_name-$b_version
  local log=$K8S_PLATFORM_TOOLCHAIN_DIR/logs/build-$b_name-$b_version.log
  local start=$SECONDS
  if [[ -x $dest/$b_name && -f $dest/BUILD-INFO ]] &&
    grep -qxF "module=$b_module@$b_modversion" "$dest/BUILD-INFO"; then
    tc_say "$b_name v$b_version: cached in $dest"
    return 0
  fi
  tc_say "building $b_name v$b_version from $b_module@$b_modversion (this takes several minutes; log: $log)"
  : >"$log"
  tc_heartbeat_start
  trap tc_heartbeat_stop EXIT
  set +e
  tc_run "build $b_name v$b_version" "$log" tc_build_steps
  local rc=$?
  set -e
  tc_heartbeat_stop
  ((rc == 0)) || return 1
  cp "$log" "$b_work/out/build.log"
  rm -rf "$dest"
  mv "$b_work/out" "$dest"
  rm -rf "$b_work"
  tc_note "built in $(tc_duration $((SECONDS - start))): $dest/$b_name"
}

# ---------------------------------------------------------------------------------------------
# Tools

# tc_link_bin FILE: make FILE available as $K8S_PLATFORM_TOOLCHAIN_DIR/bin/<basename>.
tc_link_bin() {
  local bin=$K8S_PLATFORM_TOOLCHAIN_DIR/bin target
  target=$bin/$(basename "$1")
  [[ $1 -ef $target ]] && return 0
  mkdir -p "$bin"
  # A hard link (or copy), not a symlink: the CLI looks for its language hosts next to the
  # resolved path of its own executable.
  ln -f "$1" "$bin/.tmp-link" 2>/dev/null || cp -f "$1" "$bin/.tmp-link"
  mv -f "$bin/.tmp-link" "$target"
}

# tc_ambient_version CMD ARGS...: the first line CMD prints, if CMD is on PATH outside our bin dir.
tc_ambient_version() {
  local path
  path=$(command -v "$1" 2>/dev/null) || return 1
  [[ $path != "$K8S_PLATFORM_TOOLCHAIN_DIR/bin/"* ]] || return 1
  "$@" 2>/dev/null | head -n 1
}

tc_ensure_cli() {
  local v=$PULUMI_CLI_VERSION got
  if got=$(tc_ambient_version pulumi version --non-interactive) &&
    [[ $got == "v$PULUMI_VERSION" || $got == "v$v" ]]; then
    tc_say "pulumi CLI $got: using $(command -v pulumi)"
    rm -f "$K8S_PLATFORM_TOOLCHAIN_DIR/bin/pulumi"
    return 0
  fi
  tc_build_go_binary pulumi "$v" github.com/pulumi/pulumi/pkg/v3 "v$v" cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" "osusergo grpcnotrace" "" \
    "github.com/pulumi/pulumi/sdk/v3@v$v" tc_check_cli
  tc_link_bin "$K8S_PLATFORM_TOOLCHAIN_DIR/pulumi-$v/pulumi"
}

# tc_ensure_language_python: report how programs run. The official pulumi-language-python host
# is not served by the Go module proxy here (docs/toolchain.md); without it scripts/pulumi runs the
# program inline (Automation API), so its absence is not a failure.
tc_ensure_language_python() {
  local got
  if got=$(tc_ambient_version pulumi-language-python -version); then
    tc_say "pulumi-language-python $got: using $(command -v pulumi-language-python) (plain \`pulumi preview\` works too)"
  else
    tc_say "pulumi-language-python: not installed; scripts/pulumi runs the program inline (Automation API)"
  fi
}

# tc_install_plugin NAME VERSION BINARY: install a resource provider binary into the plugin
# folder the way the engine's own installer leaves it: the binary inside
# plugins/resource-NAME-vVERSION/, a .lock file beside it and no .partial file (a .partial file
# marks an unfinished install and makes the engine ignore the plugin).
tc_install_plugin() {
  local name=$1 version=$2 binary=$3
  local plugins=$PULUMI_HOME/plugins
  local dir=$plugins/resource-$name-v$version
  mkdir -p "$plugins"
  : >"$dir.partial"
  rm -rf "$dir"
  mkdir "$dir"
  cp "$binary" "$dir/pulumi-resource-$name"
  chmod 0755 "$dir/pulumi-resource-$name"
  : >"$dir.lock"
  rm -f "$dir.partial"
}

tc_plugin_installed() {
  local dir=$PULUMI_HOME/plugins/resource-$1-v$2
  [[ -x $dir/pulumi-resource-$1 && ! -e $dir.partial ]]
}

# tc_plugin_not_ours NAME VERSION: the plugin is installed and was not put there by
# scripts/bootstrap (ours carry their BUILD-INFO): the official one from `pulumi plugin install`,
# which always wins.
tc_plugin_not_ours() {
  tc_plugin_installed "$1" "$2" && [[ ! -f $PULUMI_HOME/plugins/resource-$1-v$2/BUILD-INFO ]]
}

# tc_install_own_plugin NAME VERSION DIR: install the build in DIR (pulumi-resource-NAME and its
# BUILD-INFO) unless exactly that build is installed already; BUILD-INFO goes along as the mark.
tc_install_own_plugin() {
  local name=$1 version=$2 dir=$3 bin=pulumi-resource-$1
  local installed=$PULUMI_HOME/plugins/resource-$name-v$version
  if ! cmp -s "$dir/$bin" "$installed/$bin" || ! cmp -s "$dir/BUILD-INFO" "$installed/BUILD-INFO"; then
    tc_say "installing $bin v$version into $PULUMI_HOME/plugins"
    tc_install_plugin "$name" "$version" "$dir/$bin"
    cp "$dir/BUILD-INFO" "$installed/BUILD-INFO"
  fi
  if command -v "$bin" >/dev/null 2>&1; then
    tc_warn "$(command -v "$bin") is on PATH and overrides the installed plugin (PULUMI_IGNORE_AMBIENT_PLUGINS=true stops that)"
  fi
}

# tc_ensure_plugin NAME VERSION BUILD_FUNCTION: an installed official plugin is kept; otherwise
# BUILD_FUNCTION VERSION builds (or finds cached) and installs the project's own build.
tc_ensure_plugin() {
  local name=$1 version=$2 build=$3
  if tc_plugin_not_ours "$name" "$version"; then
    tc_say "pulumi-resource-$name v$version: installed in $PULUMI_HOME/plugins, not built here: using it"
    return 0
  fi
  "$build" "$version"
}

# ---------------------------------------------------------------------------------------------
# The project's own plugins (providers/<name>: scripts/toolchain/command.sh, openstack.sh)

# tc_sources_hash DIR FILE...: one hash over the path and content of the Go module's sources in DIR
# (*.go but tests, go.mod, go.sum; generated files are none of these) and of FILE... (the recipe).
tc_sources_hash() {
  local dir=$1
  shift
  {
    (
      cd "$dir"
      find . -type f \( \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod -o -name go.sum \) \
        -not -path './bin/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    )
    cat "$@" | sha256sum
  } | sha256sum | cut -d' ' -f1
}

# tc_build_own_plugin NAME VERSION SRC ORIGIN STEPS RECIPE: build (or find cached) the plugin of
# the Go module SRC and install it with tc_install_own_plugin. STEPS is a function that builds in
# its own scratch copy of SRC: it gets the output directory and the version and leaves
# pulumi-resource-NAME there (and what else the cache keeps). BUILD-INFO records ORIGIN (what
# this build is) and a hash of SRC and of RECIPE (the script defining STEPS): a change rebuilds.
tc_build_own_plugin() {
  local name=$1 version=$2 src=$3 origin=$4 steps=$5 recipe=$6 hash rc
  local bin=pulumi-resource-$name start=$SECONDS
  local dest=$K8S_PLATFORM_TOOLCHAIN_DIR/$bin-$version
  local work=$K8S_PLATFORM_TOOLCHAIN_DIR/work/$bin-$version
  local log=$K8S_PLATFORM_TOOLCHAIN_DIR/logs/build-$bin-$version.log
  hash=$(tc_sources_hash "$src" "$recipe" "${BASH_SOURCE[0]}")
  if [[ -x $dest/$bin && -f $dest/BUILD-INFO ]] && grep -qxF "sources=$hash" "$dest/BUILD-INFO"; then
    tc_say "$bin v$version (own build): cached in $dest"
  else
    tc_say "building $bin v$version: $origin, from ${src#"${REPO_ROOT:-}"/} (log: $log)"
    : >"$log"
    rm -rf "$work"
    mkdir -p "$work/out"
    # A scratch copy: the checkout stays free of build outputs and may change while this runs.
    cp -a "$src" "$work/src"
    tc_heartbeat_start
    set +e
    (cd "$work/src" && tc_run "build $bin v$version" "$log" "$steps" "$work/out" "$version")
    rc=$?
    set -e
    tc_heartbeat_stop
    ((rc == 0)) || return 1
    {
      echo "name=$bin"
      echo "version=$version"
      echo "origin=$origin"
      echo "sources=$hash"
      echo "go=$(go env GOVERSION)"
      echo "built=$(date -u +%FT%TZ)"
    } >"$work/out/BUILD-INFO"
    cp "$log" "$work/out/build.log"
    rm -rf "$dest"
    mv "$work/out" "$dest"
    rm -rf "$work"
    tc_note "built in $(tc_duration $((SECONDS - start))): $dest/$bin"
  fi
  tc_install_own_plugin "$name" "$version" "$dest"
}
