#!/usr/bin/env bash
# build-images.sh - build the `sentry` and `sentry-driver-loader` images with Debian's
# buildah/podman, without any registry: the Debian base is made here with debootstrap and
# imported, Sentry goes in as a wheel built on this host plus its dependency wheels.
#
# usage: deploy/docker/build-images.sh [all|build|base|context|images|smoke|env]
#   all      (default) build, then smoke
#   build    base, context, images
#   base     make localhost/debian:$SUITE-slim with debootstrap (skipped when present)
#   context  stage the build context: wheels (pip wheel/download), rules, probe, loader
#   images   buildah bud both Containerfiles
#   smoke    `sentry --version` in each image (podman run)
#   env      print the environment (KEY=VALUE lines) podman/buildah run with here
# env:  SUITE (bookworm), BASE_IMAGE (localhost/debian:$SUITE-slim), IMAGE_TAG (the
#       package version), SENTRY_IMAGES_DIR (/var/lib/sentry-images: the build context,
#       debootstrap's log), DEBIAN_MIRROR (http://deb.debian.org/debian)
# Run as root. podman/buildah use /etc/containers as scripts/runtimes.sh installs it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=${SUITE:-bookworm}
BASE_IMAGE=${BASE_IMAGE:-localhost/debian:$SUITE-slim}
IMAGES_DIR=${SENTRY_IMAGES_DIR:-/var/lib/sentry-images}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
VERSION=$(cat "$repo/driver/VERSION")
IMAGE_TAG=${IMAGE_TAG:-$VERSION}
CTX=$IMAGES_DIR/context

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-images: error: %s\n' "$*" >&2; exit 1; }

# podman and buildah as scripts/runtimes.sh configures them for this machine (runc and
# cgroupfs: crun refuses the hybrid cgroups; default ulimits within the hard limits; one
# store shared with the podman API service it starts, which then knows our images).
podman_config() {
	if [ ! -f /etc/containers/containers.conf ]; then
		[ -x "$repo/scripts/runtimes.sh" ] || die "no podman configuration and no scripts/runtimes.sh"
		"$repo/scripts/runtimes.sh" install >&2
	fi
	mkdir -p "$IMAGES_DIR"
	export BUILDAH_ISOLATION=chroot
}

have_image() { podman image exists "$1"; }

make_base() {
	if have_image "$BASE_IMAGE"; then
		step "base image $BASE_IMAGE present"
		return
	fi
	command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
	local root
	root=$(mktemp -d "$IMAGES_DIR/rootfs.XXXXXX")
	chmod 755 "$root"  # the image's / (mktemp makes it 0700: only root could run anything)
	trap 'rm -rf "$root"' RETURN
	step "base image: debootstrap --variant=minbase $SUITE from $DEBIAN_MIRROR"
	debootstrap --variant=minbase "$SUITE" "$root" "$DEBIAN_MIRROR" >"$IMAGES_DIR/debootstrap.log" 2>&1 \
		|| { tail -20 "$IMAGES_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
	# slim, as Debian's -slim images: no package caches, lists, docs, man pages or locales
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
		"$root"/var/log/*.log "$root"/var/cache/debconf/*-old
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
		>"$root/etc/dpkg/dpkg.cfg.d/docker-slim"
	printf 'deb %s %s main\n' "$DEBIAN_MIRROR" "$SUITE" >"$root/etc/apt/sources.list"
	step "base image: importing as $BASE_IMAGE"
	tar -C "$root" -c . | podman import -q \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
}

make_context() {
	step "context: $CTX"
	rm -rf "$CTX"
	mkdir -p "$CTX/wheels" "$CTX/etc/rules.d" "$CTX/share/bpf" "$CTX/loader/scripts"
	step "context: the Sentry wheel (pip wheel --no-deps) and its dependency wheels"
	python3 -m pip wheel -q --disable-pip-version-check --no-deps \
		-w "$CTX/wheels" "$repo"
	local whl
	whl=$(ls "$CTX"/wheels/sentry_runtime-*.whl)
	# Debian $SUITE's python3 is 3.11: binary wheels only, for that interpreter
	# (linux_x86_64: our own wheel, its C walker compiled here, on Debian 12 as the image).
	python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
		--python-version 3.11 --implementation cp --platform manylinux2014_x86_64 \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
		--platform linux_x86_64 \
		-d "$CTX/wheels" "$whl"
	cp "$repo"/deploy/sentry.yaml "$repo"/rules/*.yaml "$CTX/etc/"
	cp -r "$repo/driver/include" "$CTX/share/include"
	make -s -C "$repo/driver/bpf"  # up to date with its sources (CO-RE: loads on any BTF kernel)
	# the probe's sources beside its object: its headers are read at load (cffi cdef)
	(cd "$repo/driver/bpf" && git ls-files -z | xargs -0 cp -t "$CTX/share/bpf")
	cp "$repo/driver/bpf/sentry.bpf.o" "$CTX/share/bpf/"
	cp "$repo/scripts/driver-loader.sh" "$CTX/loader/scripts/"
	cp "$repo/pyproject.toml" "$CTX/loader/"
	# the module's sources only, for a build on the node
	(cd "$repo" && git ls-files -z driver | xargs -0 cp --parents -t "$CTX/loader")
}

build_one() {
	local name=$1 file=$2
	step "image: localhost/$name:$IMAGE_TAG (base $BASE_IMAGE)"
	buildah bud -q --layers=false --build-arg "BASE_IMAGE=$BASE_IMAGE" \
		--build-arg "VERSION=$VERSION" \
		--build-arg "REVISION=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		-f "$repo/deploy/docker/$file" -t "localhost/$name:$IMAGE_TAG" \
		-t "localhost/$name:latest" "$CTX" >/dev/null
}

build_images() {
	[ -d "$CTX/wheels" ] || make_context
	build_one sentry Containerfile.sentry
	build_one sentry-driver-loader Containerfile.driver-loader
	podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '/sentry(-driver-loader)?:' >&2
}

smoke() {
	local img out
	for img in sentry sentry-driver-loader; do
		out=$(podman run --rm --entrypoint sentry "localhost/$img:$IMAGE_TAG" --version)
		step "smoke: $img: sentry --version: $out"
	done
}

podman_config
case ${1:-all} in
all) make_base; make_context; build_images; smoke ;;
build) make_base; make_context; build_images ;;
base) make_base ;;
context) make_context ;;
images) build_images ;;
smoke) smoke ;;
env) printf 'BUILDAH_ISOLATION=chroot\n' ;;
-h|--help) sed -n '2,20p' "$0" ;;
*) die "unknown step $1 (see --help)" ;;
esac
