#!/usr/bin/env bash
# The main job until `floatip lab demo` lands: validate the shipped manifests the way a GitOps
# pipeline would, showing a clean pass (exit 0) and every problem in the broken ones (exit 1).
set -uo pipefail
cd "$(dirname "$0")/.."
floatip=.venv/bin/floatip

printf '==> floatip validate examples/virtualip.yaml   (three good VirtualIPs)\n'
$floatip validate examples/virtualip.yaml
good=$?
printf '    exit status %s (0: all valid)\n\n' "$good"

printf '==> floatip validate examples/invalid/*.yaml    (deliberate mistakes)\n'
$floatip validate examples/invalid/*.yaml
bad=$?
printf '    exit status %s (1: some VirtualIP invalid)\n\n' "$bad"

printf '==> floatip crd | head   (the CRD is generated from the same model)\n'
$floatip crd | sed -n '1,12p'
[[ $good -eq 0 && $bad -eq 1 ]]
