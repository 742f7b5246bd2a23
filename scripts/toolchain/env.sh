# shellcheck shell=sh
# Environment for using the Pulumi toolchain that scripts/bootstrap sets up.
# Source it from bash or sh:  . scripts/toolchain/env.sh
#
# K8S_PLATFORM_TOOLCHAIN_DIR  cache of built binaries, outside the checkout (shared by every clone)
# PULUMI_HOME                  where the provider plugins are installed (plugins/resource-<name>-v<version>/)
# PATH                         gets $K8S_PLATFORM_TOOLCHAIN_DIR/bin (pulumi, pulumi-language-python) in front
# PULUMI_SKIP_UPDATE_CHECK, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
#                              the CLI never goes online for updates or plugin downloads

K8S_PLATFORM_TOOLCHAIN_DIR="${K8S_PLATFORM_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/k8s-platform/toolchain}"
export K8S_PLATFORM_TOOLCHAIN_DIR

PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
export PULUMI_HOME

case ":$PATH:" in
  *":$K8S_PLATFORM_TOOLCHAIN_DIR/bin:"*) ;;
  *) PATH="$K8S_PLATFORM_TOOLCHAIN_DIR/bin:$PATH" ;;
esac
export PATH

export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
