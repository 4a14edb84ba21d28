# One image for both programs: floatip-operator (the Deployment) and floatip-agent (the
# DaemonSet) come from one Python package, so one build, one scan and one version to roll.
# The chart picks the program with `command:` and the user with its securityContext
# (the agent runs as root with only NET_ADMIN and NET_RAW; the operator as 65532).
# floatip-control-plane-agent (the control-plane VIP's static Pod, docs/control-plane.md)
# comes from the same package and runs like the agent.
# The product only: the lab (lab/) and the test API server (apiserver/) are not in it.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY floatip/ floatip/
COPY operator/ operator/
COPY node-agent/ node-agent/
COPY crds/ crds/
COPY charts/floatip/files/rbac.yaml charts/floatip/files/admission.yaml charts/floatip/files/
RUN pip install --no-cache-dir --prefix=/install .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="floatip" \
      org.opencontainers.image.description="Highly available virtual IPs for bare-metal Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /install /usr/local
# nft: the agent's flow handoff keeps connections alive across a planned switchover.
RUN apt-get update && apt-get install -y --no-install-recommends nftables \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT []
CMD ["floatip-operator"]
