"""tierbench: benchmark HTTP service runtimes across Kubernetes-style resource tiers."""

__version__ = "0.1.0"
