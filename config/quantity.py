"""Kubernetes resource quantities ("200m", "250Mi", "1Gi", "8") as exact numbers.

The capacity plan and the spec's cross-field rules need the blueprint's reservations as numbers.
Only the suffixes Kubernetes accepts for CPU and memory are supported (see
https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/); the full
``resource.Quantity`` grammar (exponents, nano units) is not needed for capacity planning and a
dependency on the whole ``kubernetes`` client for one function is not worth its weight.
"""

from __future__ import annotations

import re
from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_DECIMAL = {"m": Decimal("0.001"), "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_PATTERN = re.compile(r"^(?P<num>[0-9]+(?:\.[0-9]+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|m|k|M|G|T|)$")

MIB = 2**20


def parse_quantity(text: str | int | float) -> Decimal:
    """Return the quantity in base units (cores for CPU, bytes for memory).

    Raises ValueError with the accepted forms when ``text`` is not a quantity.
    """
    match = _PATTERN.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 200m, 2, 250Mi, 1Gi)")
    number = Decimal(match["num"])
    suffix = match["suffix"]
    factor = _BINARY.get(suffix) or _DECIMAL[suffix]
    return number * Decimal(factor)


def millicores(text: str | int | float) -> int:
    """CPU quantity in millicores, rounded up (the scheduler never gives out a fraction)."""
    value = parse_quantity(text) * 1000
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def mebibytes(text: str | int | float) -> int:
    """Memory quantity in MiB, rounded up."""
    value = parse_quantity(text) / MIB
    return int(value.to_integral_value(rounding="ROUND_CEILING"))
