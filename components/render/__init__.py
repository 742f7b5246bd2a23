"""Pure text renderers: the files this platform pushes to machines.

Every module here turns a frozen, validated args dataclass into text (a config file, a systemd unit,
a shell script) with a Jinja2 template from ``templates/``. Nothing here imports Pulumi: components
call the renderers inside ``Output.all(...).apply(...)`` and push the result over SSH, and tests run
the result through the real program (``haproxy -c``, ``keepalived -t``, ``shellcheck``, a real etcd).

Modules: ``haproxy`` (API endpoint load balancer), ``keepalived`` (VRRP for the API VIP), ``etcd``
(member systemd unit), ``etcd_backup`` (snapshot script + service + timer), ``etcd_restore``
(whole-cluster restore script, the blueprint's "数据备份-etcd" procedure), and two that derive
rather than template: ``seed`` (every generated secret, by HKDF from the stack's seed) and
``etcd_pki`` (etcd's CA and certificates, deterministic PEM, checked with the real ``openssl``).
"""
