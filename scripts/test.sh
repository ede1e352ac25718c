#!/usr/bin/env bash
# test.sh - the whole test suite: lint and types, the host tests (unit, conformance
# against real sysdig, live eBPF as root), then the kernel-module suite inside qemu.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> ruff"; ruff check python tests bench
echo "==> mypy"; mypy
echo "==> pytest (host)"
python3 -m pytest -q tests --ignore=tests/kmod
if [ -x tests/kmod/run_in_vm.sh ]; then
	echo "==> kernel module suite in qemu"
	tests/kmod/run_in_vm.sh
fi
