# shellcheck shell=bash source-path=SCRIPTDIR
# The openstack provider plugin: the project's own bridge wiring in providers/openstack over
# terraform-provider-openstack v3.4.0 and pulumi-terraform-bridge v3.120.0 (see its README.md); the
# official github.com/pulumi/pulumi-openstack/provider/v5 is not served here. An official plugin
# installed at the same version wins (tc_ensure_plugin). Source it after lib.sh; it does nothing on
# its own.

TC_OPENSTACK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../providers/openstack" && pwd)

# tc_openstack_build_steps OUT VERSION: tfgen writes the schema the plugin embeds, then the plugin is
# built into OUT (run by tc_build_own_plugin in a scratch copy of providers/openstack).
tc_openstack_build_steps() {
  local out=$1 version=$2 pkg=k8s-platform/providers/openstack/provider
  rm -rf bin cmd/pulumi-resource-openstack/{schema.json,bridge-metadata.json,Pulumi.yaml}
  tc_go_for_module .
  # -mod=readonly: the committed go.mod/go.sum are the whole dependency closure.
  export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
  local ldflags="-s -w -X $pkg.Version=$version"
  echo "go build ./cmd/pulumi-tfgen-openstack"
  go build -trimpath -ldflags "$ldflags" -o bin/pulumi-tfgen-openstack ./cmd/pulumi-tfgen-openstack
  # Examples are skipped: converting them needs the terraform converter plugin, which is not here.
  echo "pulumi-tfgen-openstack schema --skip-examples --out cmd/pulumi-resource-openstack"
  bin/pulumi-tfgen-openstack schema --skip-examples --out cmd/pulumi-resource-openstack
  echo "go build ./cmd/pulumi-resource-openstack"
  go build -trimpath -ldflags "$ldflags" -o "$out/pulumi-resource-openstack" ./cmd/pulumi-resource-openstack
  tc_check_version_flag "$out/pulumi-resource-openstack" "$version"
  cp cmd/pulumi-resource-openstack/schema.json "$out/schema.json"
}

# tc_build_openstack_plugin VERSION: build (or find cached) and install plugins/resource-openstack-vVERSION.
tc_build_openstack_plugin() {
  tc_build_own_plugin openstack "$1" "$TC_OPENSTACK_SRC" \
    "k8s-platform bridge wiring (providers/openstack) over terraform-provider-openstack v3.4.0 + pulumi-terraform-bridge v3.120.0" \
    tc_openstack_build_steps "${BASH_SOURCE[0]}"
}
