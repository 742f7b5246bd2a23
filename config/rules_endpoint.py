"""Rules of the API endpoint choice (``apiEndpoint``) and its options (``apiEndpointOptions``).

Split from config/rules.py (same form: ``(spec) -> [(config key path, what is wrong)]``); the
stages there list them.
"""

from __future__ import annotations

from collections.abc import Iterator

from config.sizing import Environment
from config.spec import (
    ApiEndpointKind,
    ApiEndpointOptions,
    OctaviaLbMethod,
    OctaviaMonitor,
    Role,
    StackSpec,
    config_path,
)

Violation = tuple[str, str]
MAX_LB_MACHINES = 15
"""keepalived priorities 150, 140, ... 10: fifteen lb machines at most."""

OPTION_KIND: dict[str, ApiEndpointKind] = {
    "vrrp_router_id": ApiEndpointKind.HAPROXY_KEEPALIVED,
    "interface": ApiEndpointKind.HAPROXY_KEEPALIVED,
    "octavia_provider": ApiEndpointKind.OCTAVIA,
    "octavia_lb_method": ApiEndpointKind.OCTAVIA,
    "octavia_monitor": ApiEndpointKind.OCTAVIA,
}
"""Which endpoint kind reads each ``apiEndpointOptions`` field (snake_case, as in the model)."""


def api_endpoint(spec: StackSpec) -> Iterator[Violation]:
    lbs = spec.pools(Role.LB)
    if spec.api_endpoint == ApiEndpointKind.HAPROXY_KEEPALIVED:
        needed = 1 if spec.environment == Environment.LAB else 2
        if not lbs or lbs[0][1].count < needed:
            path = ("nodePools", lbs[0][0], "count") if lbs else ("nodePools",)
            yield (
                config_path(path),
                (f"apiEndpoint haproxy-keepalived needs a pool with role lb of at least {needed} machines"),
            )
    elif lbs:
        yield config_path(("nodePools", lbs[0][0])), "apiEndpoint octavia uses no lb machines; remove the lb pool"


def endpoint_option_kinds(spec: StackSpec) -> Iterator[Violation]:
    # An option of the other kind would be read by nothing: an operator who sets octaviaMonitor on a
    # haproxy-keepalived stack believes the apiservers are monitored that way. Refuse, naming it.
    options = spec.api_endpoint_options
    for field in sorted(options.model_fields_set, key=list(OPTION_KIND).index):
        kind = OPTION_KIND[field]
        if kind != spec.api_endpoint:
            alias = ApiEndpointOptions.model_fields[field].alias or field
            yield (
                config_path(("apiEndpointOptions", alias)),
                f"applies to apiEndpoint {kind.value} only; this stack's apiEndpoint is "
                f"{spec.api_endpoint.value}: remove it",
            )


def api_endpoint_options(spec: StackSpec) -> Iterator[Violation]:
    options = spec.api_endpoint_options
    if spec.api_endpoint == ApiEndpointKind.HAPROXY_KEEPALIVED:
        # keepalived priorities start at 150 and drop by 10 per lb machine (render/keepalived.py);
        # they must stay >= 1, and 255 belongs to an address owner (RFC 3768 5.3.4).
        for name, pool in spec.pools(Role.LB):
            if pool.count > MAX_LB_MACHINES:
                yield (
                    config_path(("nodePools", name, "count")),
                    f"keepalived priorities (150 down by 10) fit at most {MAX_LB_MACHINES} lb machines",
                )
        return
    # The OVN provider has no HTTP(S) health monitors and balances by SOURCE_IP_PORT only
    # (https://docs.openstack.org/ovn-octavia-provider/latest/admin/driver.html, "Limitations").
    if options.octavia_provider == "ovn":
        if options.octavia_monitor != OctaviaMonitor.TCP:
            yield config_path(("apiEndpointOptions", "octaviaMonitor")), "the ovn provider supports TCP monitors only"
        if options.octavia_lb_method != OctaviaLbMethod.SOURCE_IP_PORT:
            yield (
                config_path(("apiEndpointOptions", "octaviaLbMethod")),
                "the ovn provider balances by SOURCE_IP_PORT only",
            )
