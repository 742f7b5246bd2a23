"""The SSH steps of the etcd members (conventions: remote_scripts.py).

Pure text, no Pulumi import; tests run every step through shellcheck. Why each step does what it
does is explained next to the code and in etcd_cluster.py.
"""

from __future__ import annotations

from components.control_plane.remote_scripts import APT_INSTALL, STAGE_FILES
from components.render.etcd import PKI_DIR

ETCDCTL = r"""
# etcdctl with the member's client certificate (etcd-healthcheck-client).
etcdctl_at() {
  local endpoints=$1
  shift
  ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints="$endpoints" --cacert=PKI/ca.crt \
    --cert=PKI/etcdctl.crt --key=PKI/etcdctl.key --dial-timeout=3s --command-timeout="${ETCDCTL_TIMEOUT:-15s}" "$@"
}
""".replace("PKI/", f"{PKI_DIR}/")
"""``etcdctl_at ENDPOINTS ARGS...``: etcdctl with the members' healthcheck client certificate;
``ETCDCTL_TIMEOUT`` (default 15s) bounds each request."""

ETCD_MEMBER = (
    STAGE_FILES
    + ETCDCTL
    + r"""
stage_payload

# 1. The etcd system user owns the data directory and the member's own keys.
if ! id -u etcd >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$DATA_MOUNT" --no-create-home --shell /usr/sbin/nologin etcd
fi

# 2. The data volume: formatted only when it carries no signature at all, mounted by UUID.
if [[ -n "$VOLUME_ID" ]]; then
  device=""
  short=${VOLUME_ID:0:20}
  for _ in $(seq 1 60); do
    # Nova names a Cinder disk virtio-<first 20 characters of the volume ID> (virtio-blk), or
    # carries the ID in a scsi-* name (virtio-scsi). The attachment may still be in progress.
    for candidate in "/dev/disk/by-id/virtio-$short" /dev/disk/by-id/scsi-*"$short"*; do
      if [[ -b "$candidate" && "$candidate" != *-part* ]]; then
        device=$(readlink -f -- "$candidate")
        break 2
      fi
    done
    udevadm settle --timeout=5 || true
    sleep 5
  done
  if [[ -z "$device" ]]; then
    echo "data volume $VOLUME_ID did not appear under /dev/disk/by-id within 5 minutes" >&2
    exit 1
  fi
  status=0
  blkid -p "$device" >/dev/null 2>&1 || status=$?
  if [[ "$status" -eq 2 ]]; then
    # blkid exit 2: no filesystem and no partition table: a new volume. -m 0: etcd does not
    # run as root, so blocks reserved for root would only be lost.
    mkfs.ext4 -q -L etcd-data -m 0 "$device"
  elif [[ "$status" -ne 0 ]]; then
    echo "blkid could not probe $device (exit $status); not formatting anything" >&2
    exit 1
  fi
  fstype=$(blkid -p -o value -s TYPE "$device" || true)
  if [[ "$fstype" != ext4 ]]; then
    echo "$device holds '${fstype:-a partition table}', not the ext4 etcd volume; refusing to mount it" >&2
    exit 1
  fi
  uuid=$(blkid -p -o value -s UUID "$device")
  unit=$(systemd-escape --path --suffix=mount "$DATA_MOUNT")
  printf '%s\n' "[Unit]" "Description=etcd data volume $VOLUME_ID" "Before=etcd.service" "" \
    "[Mount]" "What=/dev/disk/by-uuid/$uuid" "Where=$DATA_MOUNT" "Type=ext4" "Options=defaults,noatime" "" \
    "[Install]" "WantedBy=local-fs.target" > "/etc/systemd/system/$unit"
  chmod 0644 "/etc/systemd/system/$unit"
  systemctl daemon-reload
  systemctl enable --now "$unit"
fi
mkdir -p -- "$DATA_MOUNT"
chown etcd:etcd "$DATA_MOUNT"
chmod 0700 "$DATA_MOUNT"

# 3. The pinned etcd release, verified before anything is installed.
installed=$(/usr/local/bin/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p' || true)
if [[ "$installed" != "$ETCD_VERSION" ]]; then
  tarball="$STAGE/$(basename -- "$ETCD_URL")"
  curl -fsSL --retry 5 --retry-delay 5 -o "$tarball" "$ETCD_URL"
  expected=$ETCD_SHA256
  if [[ -z "$expected" ]]; then
    curl -fsSL --retry 5 --retry-delay 5 -o "$STAGE/SHA256SUMS" "$ETCD_SUMS_URL"
    expected=$(awk -v name="$(basename -- "$ETCD_URL")" '$2 == name { print $1 }' "$STAGE/SHA256SUMS")
  fi
  if [[ -z "$expected" ]] || ! printf '%s  %s\n' "$expected" "$tarball" | sha256sum -c --quiet -; then
    echo "checksum of $(basename -- "$ETCD_URL") missing or wrong; etcd not installed" >&2
    exit 1
  fi
  mkdir -p -- "$STAGE/etcd"
  tar -xzf "$tarball" -C "$STAGE/etcd" --strip-components=1
  install -m 0755 "$STAGE/etcd/etcd" "$STAGE/etcd/etcdctl" "$STAGE/etcd/etcdutl" /usr/local/bin/
fi

# 4. Certificates and the unit. Keys are 0600; etcd re-reads certificates on every new TLS
# connection (etcd security guide), so a renewed certificate needs no restart.
mkdir -p -- "$PKI_DIR"
chown root:etcd "$PKI_DIR"
chmod 0750 "$PKI_DIR"
commit_payload
systemctl daemon-reload
systemctl enable etcd

# 5. Refuse to bootstrap into a running cluster that does not know this member: a member added
# to an existing cluster needs `etcdctl member add` and --initial-cluster-state=existing first.
if [[ ! -d "$DATA_DIR/member" && -n "$PEER_ENDPOINTS" ]]; then
  if members=$(etcdctl_at "$PEER_ENDPOINTS" member list -w simple 2>/dev/null); then
    if ! grep -qF -- ", $PEER_URL, " <<<"$members"; then
      echo "the etcd cluster at $PEER_ENDPOINTS runs without $MEMBER: add it with 'etcdctl member add'" \
        "and start it with --initial-cluster-state=existing (docs/runbooks/etcd-restore.md)" >&2
      exit 1
    fi
  fi
fi

# 6. Start without waiting. The unit is Type=notify: `systemctl start` would block until this
# member sees a quorum, i.e. until the other members' steps (running in parallel) start theirs.
# A running member is never restarted here: restarting every member at once drops the quorum;
# changed flags are rolled out one member at a time (docs/runbooks/upgrade.md).
if ! systemctl is-active --quiet etcd; then
  systemctl start --no-block etcd
fi
echo "etcd member $MEMBER prepared (instance $INSTANCE_ID)"
"""
)
"""Data volume, user, pinned etcd release, certificates (payload), unit; start without blocking.
Values: MEMBER, PEER_URL, PEER_ENDPOINTS (the other members' client URLs), INSTANCE_ID,
VOLUME_ID (empty: data on the boot disk), DATA_MOUNT, DATA_DIR, PKI_DIR, ETCD_VERSION, ETCD_URL,
ETCD_SUMS_URL, ETCD_SHA256 (may be empty)."""

ETCD_MEMBER_REMOVE = (
    ETCDCTL
    + r"""
# The delete step of a member's bootstrap command. The command depends on the member's instance,
# so Pulumi deletes it, and runs this, before the machine goes. etcd's runtime reconfiguration
# guide: remove a member before retiring it, so the quorum counts only the members that remain.
if [[ ! -x /usr/local/bin/etcdctl ]]; then
  echo "etcd was never installed on $MEMBER; nothing to remove"
  exit 0
fi
deadline=$((SECONDS + WAIT_S))
while :; do
  if members=$(etcdctl_at "$ENDPOINTS" member list -w simple 2>/dev/null); then
    line=$(grep -F -- ", $PEER_URL, " <<<"$members" || true)
    if [[ -z "$line" ]]; then
      echo "$MEMBER is not a member of the cluster (already removed)"
      break
    fi
    if [[ $(grep -c . <<<"$members") -le 1 ]]; then
      echo "$MEMBER is the last member: the cluster goes with it, there is nothing to remove it from"
      break
    fi
    # etcd refuses a removal that would leave fewer started members than a quorum
    # (--strict-reconfig-check, on by default): then this loop retries until the deadline.
    if etcdctl_at "$ENDPOINTS" member remove "${line%%,*}"; then
      echo "removed $MEMBER (${line%%,*}) from the etcd cluster"
      break
    fi
  fi
  if ((SECONDS >= deadline)); then
    echo "could not remove $MEMBER from the etcd cluster within ${WAIT_S}s (no quorum?); the machine" \
      "is kept. Restore the quorum and retry, or see docs/runbooks/etcd-restore.md" >&2
    exit 1
  fi
  sleep 5
done
systemctl disable --now etcd-backup.timer >/dev/null 2>&1 || true
systemctl disable --now etcd >/dev/null 2>&1 || true
# A removed member must never start again with its old identity; keep its data for forensics.
if [[ -d "$DATA_DIR" ]]; then
  mv -- "$DATA_DIR" "$DATA_DIR.removed-$(date -u +%Y%m%dT%H%M%SZ)"
fi
"""
)
"""``etcdctl member remove`` of this member through any member. Values: MEMBER, PEER_URL,
ENDPOINTS (every member's client URL when the command was created), DATA_DIR, WAIT_S."""

ETCD_HEALTH = (
    ETCDCTL
    + r"""
# Every configured member must answer healthy: `endpoint health` exits non-zero if one does not.
# A member that takes more than 5 s to answer a health read is not healthy.
ETCDCTL_TIMEOUT=5s
deadline=$((SECONDS + WAIT_S))
until etcdctl_at "$ENDPOINTS" endpoint health >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    etcdctl_at "$ENDPOINTS" endpoint health >&2 || true
    echo "the etcd cluster did not become healthy within ${WAIT_S}s" >&2
    exit 1
  fi
  sleep 5
done
# Every configured member is in the member list. More may be listed for a moment: a member being
# removed from the config leaves the cluster in its own delete step, after this one.
members=$(etcdctl_at "$ENDPOINTS" member list -w simple)
for url in $PEER_URLS; do
  if ! grep -qF -- ", $url, " <<<"$members"; then
    echo "no etcd member has the peer URL $url" >&2
    exit 1
  fi
done
etcdctl_at "$ENDPOINTS" endpoint status -w table
"""
)
"""Wait until every member is healthy and listed. Values: ENDPOINTS, PEER_URLS (space separated), WAIT_S."""

ETCD_BACKUP_APPLY = (
    STAGE_FILES
    + APT_INSTALL
    + r"""
stage_payload
if [[ "$WITH_S3" == yes ]] && ! command -v rclone >/dev/null 2>&1; then
  apt_install rclone
fi
# A dedicated member is no Kubernetes node, so no node-exporter DaemonSet serves the backup's
# textfile metrics there: the distribution's node-exporter does (port 9100, textfile directory
# /var/lib/prometheus/node-exporter by default), scraped by the monitoring add-on.
if [[ "$NODE_EXPORTER" == yes ]] && ! command -v prometheus-node-exporter >/dev/null 2>&1; then
  apt_install prometheus-node-exporter
fi
commit_payload
systemctl daemon-reload
systemctl enable --now etcd-backup.timer
echo "etcd backups of $MEMBER scheduled (instance $INSTANCE_ID)"
systemctl list-timers --no-pager etcd-backup.timer
"""
)
"""Backup script, service, timer, S3 env file and restore script (payload); enable the timer.
Values: MEMBER, INSTANCE_ID, WITH_S3 and NODE_EXPORTER (``yes``/``no``: install Debian's
prometheus-node-exporter, on dedicated members)."""

ETCD_BACKUP_REMOVE = r"""
systemctl disable --now etcd-backup.timer >/dev/null 2>&1 || true
"""
"""Stop the schedule (snapshots already taken stay in /var/backups/etcd). Values: none."""
