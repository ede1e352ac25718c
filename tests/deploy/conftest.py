"""Deployment tests: the Helm chart (real helm), the images (buildah/podman) and the chart's
pod run on this host (podman kube play)."""

from deploy_tools import helm, images, podman_env

__all__ = ["helm", "images", "podman_env"]
