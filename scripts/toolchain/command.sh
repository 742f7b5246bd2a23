# shellcheck shell=bash source-path=SCRIPTDIR
# The `command` provider plugin: the project's own implementation of pulumi-command's
# command:remote:Command schema, providers/command (see its README.md). The official
# pulumi-resource-command cannot be built here (the Go module proxy refuses github.com/pulumi/
# pulumi-command and pulumi-go-provider); an official plugin installed at the same version wins
# (tc_ensure_plugin). Source it after lib.sh; it does nothing on its own.

TC_COMMAND_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../providers/command" && pwd)

# tc_command_build_steps OUT VERSION: build the plugin into OUT (run by tc_build_own_plugin in a
# scratch copy of providers/command).
tc_command_build_steps() {
  local out=$1 version=$2
  tc_go_for_module .
  # readonly: go.sum is committed and complete, the build must not rewrite it. The tags and
  # flags are the CLI's (tc_ensure_cli), so the packages both use come from Go's build cache.
  export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
  go build -trimpath -tags "osusergo grpcnotrace" -ldflags "-s -w -X main.version=$version" \
    -o "$out/pulumi-resource-command" .
  tc_check_version_flag "$out/pulumi-resource-command" "$version"
}

# tc_build_command_plugin VERSION: build (or find cached) and install plugins/resource-command-vVERSION.
tc_build_command_plugin() {
  local version=$1 implemented
  implemented=$(sed -n -E 's/^const SchemaVersion = "([^"]+)"$/\1/p' "$TC_COMMAND_SRC/internal/provider/server.go")
  if [[ $version != "$implemented" ]]; then
    tc_fail "pulumi-resource-command v$version: providers/command implements pulumi-command $implemented's schema, not $version (pin pulumi-command==$implemented, or update providers/command to $version's schema)"
    return 1
  fi
  tc_build_own_plugin command "$version" "$TC_COMMAND_SRC" \
    "k8s-platform's own implementation of pulumi-command $version's schema, command:remote:Command only (not local:Command, CopyToRemote, CopyFile, local:run); not the official plugin" \
    tc_command_build_steps "${BASH_SOURCE[0]}"
}
