# shellcheck shell=bash
# Where stacks keep their state and how their secrets are encrypted, for the project's commands.
# Source it after scripts/toolchain/env.sh.
#
# PULUMI_BACKEND_URL  default: file://<checkout>/.state/backend (git-ignored, offline). Real users
#                     export their own first, e.g. s3://bucket?endpoint=rgw.example:443 (Ceph RGW,
#                     S3-compatible) or https://api.pulumi.com; the commands then use that.
# Secrets provider    passphrase. PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE if set;
#                     otherwise a random passphrase generated once into .state/passphrase (mode 600,
#                     git-ignored). Losing that file means losing the secrets of the local stacks.
# Stack config        the committed Pulumi.<stack>.yaml is never written: the commands work on a copy
#                     in .state/config/ that keeps its own encryption salt and secret values.

K8S_PLATFORM_ROOT=${K8S_PLATFORM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
K8S_PLATFORM_STATE=${K8S_PLATFORM_STATE:-$K8S_PLATFORM_ROOT/.state}
export K8S_PLATFORM_ROOT K8S_PLATFORM_STATE

mkdir -p "$K8S_PLATFORM_STATE/backend" "$K8S_PLATFORM_STATE/config"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$K8S_PLATFORM_STATE/backend}"

if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$K8S_PLATFORM_STATE/passphrase" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$K8S_PLATFORM_STATE/passphrase")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$K8S_PLATFORM_STATE/passphrase"
fi
