# shellcheck shell=bash source-path=SCRIPTDIR
# The openstack resource provider plugin, built from this project's own bridge wiring in
# providers/openstack (terraform-provider-openstack v3.4.0 through pulumi-terraform-bridge v3.120.0;
# see providers/openstack/README.md). Source it after lib.sh; it does nothing on its own.
#
# Cache: $K8S_PLATFORM_TOOLCHAIN_DIR/pulumi-resource-openstack-<version>/ holds the plugin, its
# schema.json, BUILD-INFO and build.log. BUILD-INFO records a hash of the module's sources and of
# this file, so any change to them rebuilds; otherwise the cache is reused in well under a second.

TC_OPENSTACK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../providers/openstack" && pwd)
# What BUILD-INFO says this is.
TC_OPENSTACK_ORIGIN="k8s-platform bridge wiring (providers/openstack) over terraform-provider-openstack v3.4.0 + pulumi-terraform-bridge v3.120.0"

# tc_openstack_sources_hash: one hash over the path and content of every source file of the Go
# module (the generated files are not *.go) and of this build recipe.
tc_openstack_sources_hash() {
  {
    (
      cd "$TC_OPENSTACK_SRC"
      find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -path './bin/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum
    )
    sha256sum <"${BASH_SOURCE[0]}"
  } | sha256sum | cut -d' ' -f1
}

# tc_openstack_build_steps: the body of one build (run by tc_run, output in the build log); uses
# the variables of tc_build_openstack_plugin.
tc_openstack_build_steps() {
  local src=$o_work/src pkg=k8s-platform/providers/openstack/provider
  echo "building pulumi-resource-openstack $o_version from $TC_OPENSTACK_SRC ($(date -u +%FT%TZ))"
  rm -rf "$o_work"
  mkdir -p "$o_work/out"
  # A scratch copy: the checkout stays free of build outputs and may change while this runs.
  cp -a "$TC_OPENSTACK_SRC" "$src"
  rm -rf "${src:?}/bin" "$src"/cmd/pulumi-resource-openstack/{schema.json,bridge-metadata.json,Pulumi.yaml}
  cd "$src"
  tc_go_for_module .
  # -mod=readonly: the committed go.mod/go.sum are the whole dependency closure.
  export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
  local ldflags="-s -w -X $pkg.Version=$o_version"
  echo "go build ./cmd/pulumi-tfgen-openstack"
  go build -trimpath -ldflags "$ldflags" -o "$o_work/pulumi-tfgen-openstack" ./cmd/pulumi-tfgen-openstack
  echo "pulumi-tfgen-openstack schema --out cmd/pulumi-resource-openstack"
  # Examples are skipped: converting them needs the terraform converter plugin, which is not here.
  "$o_work/pulumi-tfgen-openstack" schema --skip-examples --out cmd/pulumi-resource-openstack
  echo "go build ./cmd/pulumi-resource-openstack"
  go build -trimpath -ldflags "$ldflags" -o "$o_work/out/pulumi-resource-openstack" ./cmd/pulumi-resource-openstack
  tc_check_version_flag "$o_work/out/pulumi-resource-openstack" "$o_version"
  cp cmd/pulumi-resource-openstack/schema.json "$o_work/out/schema.json"
  {
    echo "name=pulumi-resource-openstack"
    echo "version=$o_version"
    echo "origin=$TC_OPENSTACK_ORIGIN"
    echo "sources=$o_hash"
    echo "go=$(go env GOVERSION)"
    echo "built=$(date -u +%FT%TZ)"
  } >"$o_work/out/BUILD-INFO"
}

# tc_build_openstack_plugin VERSION: build (or find cached) the project's own openstack plugin and
# install it with its BUILD-INFO as the mark. scripts/bootstrap calls it through tc_ensure_plugin,
# which keeps an installed official plugin instead. The build: tfgen writes the schema, then the
# plugin embedding it is built.
tc_build_openstack_plugin() {
  local o_version=$1 o_hash
  local name=pulumi-resource-openstack
  local dest=$K8S_PLATFORM_TOOLCHAIN_DIR/$name-$o_version
  local o_work=$K8S_PLATFORM_TOOLCHAIN_DIR/work/$name-$o_version
  local log=$K8S_PLATFORM_TOOLCHAIN_DIR/logs/build-$name-$o_version.log
  local start=$SECONDS rc
  o_hash=$(tc_openstack_sources_hash)
  if [[ -x $dest/$name && -f $dest/BUILD-INFO ]] && grep -qxF "sources=$o_hash" "$dest/BUILD-INFO"; then
    tc_say "$name v$o_version (own bridge wiring): cached in $dest"
  else
    tc_say "building $name v$o_version from providers/openstack (this takes 10-20 minutes cold; log: $log)"
    : >"$log"
    tc_heartbeat_start
    trap tc_heartbeat_stop EXIT
    set +e
    tc_run "build $name v$o_version" "$log" tc_openstack_build_steps
    rc=$?
    set -e
    tc_heartbeat_stop
    ((rc == 0)) || return 1
    cp "$log" "$o_work/out/build.log"
    rm -rf "$dest"
    mv "$o_work/out" "$dest"
    rm -rf "$o_work"
    tc_note "built in $(tc_duration $((SECONDS - start))): $dest/$name"
  fi
  tc_install_own_plugin openstack "$o_version" "$dest"
}
