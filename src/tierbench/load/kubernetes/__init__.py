"""The load stage on a Kubernetes cluster: manifests, the backend, the kubelet sampler."""
