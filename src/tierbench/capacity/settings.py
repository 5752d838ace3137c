"""The `capacity` section of the config: the SLO, the search's shape and the price table."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# Defaults of every key of the `capacity` section (the schema describes each).
DEFAULTS: dict[str, Any] = {
    "slo_ms": 250.0,
    "percentile": 99.0,
    "slo_requests": None,
    "max_error_rate": 0.01,
    "min_achieved": 0.95,
    "start_rate": 8.0,
    "max_rate": 20000.0,
    "min_rate": 0.25,
    "probe_warmup_s": 1.0,
    "probe_hold_s": 2.0,
    "warmup_s": 3.0,
    "hold_s": 10.0,
    "cooldown_s": 1.0,
    "precision": 0.03,
    "confirmations": 3,
    "step_start": "fresh",
    "raw_json": False,
    "time_budget_s": 170.0,
    "max_vus": 1000,
    "target_rps": 1000.0,
    "headroom": 0.7,
    "memory_margin": 0.15,
    "ha": True,
}
STEP_STARTS = ("warm", "fresh")


@dataclass(frozen=True)
class Price:
    """One provider's price per vCPU-hour and per GB-hour, and how it sizes a pod."""

    name: str
    vcpu_hour: float
    gb_hour: float
    sizing: str  # "fargate", "gke-autopilot" or "exact"
    source: str
    date: str


# Shipped prices (the config's capacity.prices replaces them). Prices change: each names
# its source and when it was read.
DEFAULT_PRICES: dict[str, dict[str, Any]] = {
    "aws-fargate-us-east-1": {
        "vcpu_hour": 0.04048,
        "gb_hour": 0.004445,
        "sizing": "fargate",
        "source": "https://aws.amazon.com/fargate/pricing/ (Linux/x86, us-east-1)",
        "date": "2026-11",
    },
    "gke-autopilot": {
        "vcpu_hour": 0.0445,
        "gb_hour": 0.0049225,
        "sizing": "gke-autopilot",
        "source": "https://cloud.google.com/kubernetes-engine/pricing (Autopilot, general-purpose)",
        "date": "2026-11",
    },
}


@dataclass(frozen=True)
class SloRequests:
    """The requests the SLO holds to: those whose k6 tag `tag` has one of `values`."""

    tag: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, value: dict[str, Any] | None) -> SloRequests | None:
        if not value:
            return None
        ((tag, values),) = value.items()
        return cls(tag, tuple([values] if isinstance(values, str) else values))

    def as_config(self) -> dict[str, list[str]]:
        return {self.tag: list(self.values)}

    @property
    def label(self) -> str:
        return f"{self.tag} {'|'.join(self.values)}"


@dataclass(frozen=True)
class CapacitySettings:
    slo_ms: float = DEFAULTS["slo_ms"]
    percentile: float = DEFAULTS["percentile"]
    slo_requests: SloRequests | None = DEFAULTS["slo_requests"]
    max_error_rate: float = DEFAULTS["max_error_rate"]
    min_achieved: float = DEFAULTS["min_achieved"]
    start_rate: float = DEFAULTS["start_rate"]
    max_rate: float = DEFAULTS["max_rate"]
    min_rate: float = DEFAULTS["min_rate"]
    probe_warmup_s: float = DEFAULTS["probe_warmup_s"]
    probe_hold_s: float = DEFAULTS["probe_hold_s"]
    warmup_s: float = DEFAULTS["warmup_s"]
    hold_s: float = DEFAULTS["hold_s"]
    cooldown_s: float = DEFAULTS["cooldown_s"]
    precision: float = DEFAULTS["precision"]
    confirmations: int = DEFAULTS["confirmations"]
    step_start: str = DEFAULTS["step_start"]
    raw_json: bool = DEFAULTS["raw_json"]
    time_budget_s: float = DEFAULTS["time_budget_s"]
    max_vus: int = DEFAULTS["max_vus"]
    target_rps: float = DEFAULTS["target_rps"]
    headroom: float = DEFAULTS["headroom"]
    memory_margin: float = DEFAULTS["memory_margin"]
    ha: bool = DEFAULTS["ha"]
    prices: tuple[Price, ...] = field(default_factory=tuple)

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> CapacitySettings:
        section = dict(section or {})
        table = section.pop("prices", None) or DEFAULT_PRICES
        prices = tuple(Price(name=name, **entry) for name, entry in table.items())
        known = {f.name for f in fields(cls)} - {"prices"}
        values = DEFAULTS | {k: v for k, v in section.items() if k in known}
        values["slo_requests"] = SloRequests.parse(values["slo_requests"])
        return cls(**values, prices=prices)

    @property
    def percentile_label(self) -> str:
        return f"p{self.percentile:g}"

    @property
    def slo_label(self) -> str:
        """The SLO in words: "p99 of http_req_duration ≤ 250 ms", of which requests."""
        which = "" if self.slo_requests is None else f" of requests with {self.slo_requests.label}"
        return f"{self.percentile_label} of `http_req_duration`{which} ≤ {self.slo_ms:g} ms"

    def search_settings(self) -> dict[str, Any]:
        """What shapes a cell's search (a change reruns the cells); not the prices."""
        settings = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("prices", "target_rps", "headroom", "memory_margin", "ha")
        }
        if self.slo_requests is not None:
            settings["slo_requests"] = self.slo_requests.as_config()
        return settings
