# The latch controller image: `latch run` in-cluster (deploy/chart,
# deploy/kustomize). Build from the repository root:
#
#   docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) -t latch:v0.1.0 .
#
# latch shells out to git (and ssh for SSH remotes, gpg for OpenPGP signing),
# so the runtime is a small Alpine with those, not distroless. It runs as the
# numeric non-root user 65532 and works with a read-only root filesystem:
# HOME=/tmp and the work dir /var/lib/latch are emptyDirs in the pod.
# deploy/test checks this file's invariants (pinned tags, Go version, user).

# The builder's Go major.minor must match go.mod's go line.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
# Never download another toolchain: if this image's Go were older than
# go.mod's go line, fail instead.
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
# Set by BuildKit for --platform builds; empty means the builder's own.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/latch ./cmd/latch

FROM alpine:3.22
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="latch" \
      org.opencontainers.image.description="Latch autoscaled workload state into git in round numbers" \
      org.opencontainers.image.source="https://github.com/latch-gitops/latch" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
# git ≥ 2.34 for latch's git CLI calls, openssh-client for SSH remotes, gnupg
# for OpenPGP signing, ca-certificates for HTTPS remotes, tini to reap the
# processes git and gpg leave behind (latch is PID 1 otherwise).
RUN apk add --no-cache git openssh-client gnupg ca-certificates tini \
 && mkdir -p /var/lib/latch /etc/latch/git \
 && chown 65532:65532 /var/lib/latch
COPY --from=build /out/latch /usr/local/bin/latch
ENV HOME=/tmp
WORKDIR /var/lib/latch
USER 65532:65532
ENTRYPOINT ["/sbin/tini", "--", "/usr/local/bin/latch"]
CMD ["run"]
