"""Kubernetes resource quantities, written and read exactly.

A tier's CPUs are whole millicores and its memory whole bytes (binary units, as Docker
reads them: 256MB = 256 MiB). Kubernetes writes both as quantities: CPUs always in
millicores here ("250m", "2000m"), memory in the largest binary unit that divides it
exactly ("256Mi", "1Gi", or a plain byte count). Reading back accepts every spelling the
API server may return ("0.25", "250m", "1Gi", "268435456", "1e3"), and refuses what does
not name a whole number of millicores or bytes, since a limit compared approximately is
not verified.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from tierbench.config.limits import Limits

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


class QuantityError(ValueError):
    """A value that cannot be written or read as an exact Kubernetes quantity."""


def cpu_quantity(cpus: float) -> str:
    """CPUs as millicores: 0.25 -> "250m", 2 -> "2000m"; refused unless whole millicores."""
    millicores = Decimal(repr(cpus)) * 1000
    if cpus <= 0 or millicores != millicores.to_integral_value():
        raise QuantityError(
            f"cpus {cpus!r} is not a whole number of millicores: Kubernetes applies CPU in "
            "millicores, so write at most three decimals (e.g. 0.25)"
        )
    return f"{int(millicores)}m"


def memory_quantity(size: int) -> str:
    """Bytes in the largest binary unit that holds them exactly: 268435456 -> "256Mi"."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise QuantityError(f"memory {size!r} is not a positive whole number of bytes")
    for suffix, factor in reversed(_BINARY.items()):
        if size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def parse_quantity(text: object) -> Decimal:
    """The exact value of a quantity such as "250m", "0.25", "1Gi", "1e3" or 268435456."""
    if isinstance(text, bool):
        raise QuantityError(f"{text!r} is not a Kubernetes quantity")
    if isinstance(text, int):
        return Decimal(text)
    match = _QUANTITY.match(str(text).strip())
    if match is None:
        raise QuantityError(
            f"{text!r} is not a Kubernetes quantity (a number with an optional suffix such "
            "as m, Ki, Mi, Gi, k, M, G)"
        )
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity") from None
    factor = Decimal(_BINARY[suffix]) if suffix in _BINARY else _DECIMAL[suffix]
    return value * factor


def parse_cpu(text: object) -> float:
    """CPUs in a quantity, exact to the millicore: "250m" and "0.25" -> 0.25."""
    millicores = parse_quantity(text) * 1000
    if millicores != millicores.to_integral_value():
        raise QuantityError(f"CPU quantity {text!r} is not a whole number of millicores")
    return int(millicores) / 1000


def parse_memory_quantity(text: object) -> int:
    """Bytes in a quantity: "256Mi" and "268435456" -> 268435456."""
    size = parse_quantity(text)
    if size != size.to_integral_value():
        raise QuantityError(f"memory quantity {text!r} is not a whole number of bytes")
    return int(size)


def tier_resources(limits: Limits) -> dict[str, dict[str, str]]:
    """requests = limits = the tier: the Guaranteed QoS class, as a pod's tier means."""
    quantities = {"cpu": cpu_quantity(limits.cpus), "memory": memory_quantity(limits.memory_bytes)}
    return {"requests": dict(quantities), "limits": dict(quantities)}
