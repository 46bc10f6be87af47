# syntax=docker/dockerfile:1
# Weir's container image: a static binary (CGO_ENABLED=0, pure-Go SQLite) on distroless, running as the
# non-root UID 65532, listening on 0.0.0.0:8080 (HTTP) and 7946 (cluster gossip). Build with:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t weir .
# The root filesystem can be mounted read-only: state goes to /var/lib/weir (a volume), the config is read from
# /etc/weir/config.yaml (the image ships the built-in default there; mount your file or ConfigMap over it).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so they stay cached while only the sources change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/weir ./cmd/weir
# The data directory, owned by the runtime user (distroless has no shell to create it later), and a default
# config (the built-in one: the mock provider) so `docker run` works without a mounted file.
RUN mkdir -p /out/var/lib/weir /out/etc/weir && chown -R 65532:65532 /out/var/lib/weir \
 && cp internal/config/default.yaml /out/etc/weir/config.yaml

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="weir" \
      org.opencontainers.image.description="Weir, an open-source AI gateway" \
      org.opencontainers.image.source="https://github.com/weir-gateway/weir" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/weir /weir
COPY --from=build --chown=65532:65532 /out/var/lib/weir /var/lib/weir
COPY --from=build /out/etc/weir /etc/weir
ENV WEIR_DATA_DIR=/var/lib/weir
USER 65532:65532
WORKDIR /var/lib/weir
VOLUME ["/var/lib/weir"]
EXPOSE 8080 7946
ENTRYPOINT ["/weir"]
CMD ["serve", "-config", "/etc/weir/config.yaml", "-addr", "0.0.0.0:8080"]
