# shellcheck shell=bash source-path=SCRIPTDIR
# The kubernetes resource provider plugin, built from github.com/pulumi/pulumi-kubernetes/provider/v4
# at the commit pulumi-kubernetes==<version> was cut from (PULUMI_KUBERNETES_MODULE_VERSION in
# versions.env): its own `go generate` embeds the schema, then the plugin is built. Source it after
# lib.sh; it does nothing on its own.

# tc_build_kubernetes_plugin VERSION: build (or find cached) and install plugins/resource-kubernetes-vVERSION.
tc_build_kubernetes_plugin() {
  local version=$1 module=github.com/pulumi/pulumi-kubernetes/provider/v4
  local cmd=cmd/pulumi-resource-kubernetes
  # The module replaces its SDK with ../sdk (a path inside the repository); the release's SDK module
  # at the same version is required instead.
  tc_build_go_binary pulumi-resource-kubernetes "$version" "$module" "$PULUMI_KUBERNETES_MODULE_VERSION" "$cmd" \
    "-X $module/pkg/version.Version=$version" "" "$cmd" "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$version" \
    tc_check_executable
  tc_install_own_plugin kubernetes "$version" "$K8S_PLATFORM_TOOLCHAIN_DIR/pulumi-resource-kubernetes-$version"
}
