# syntax=docker/dockerfile:1
#
# The streamgate image: one static binary on distroless, run as nonroot.
#
#   docker build --build-arg VERSION=v1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) -t streamgate:v1.2.0 .
#
# (make image does the same.) VERSION and COMMIT are stamped into the binary,
# as make build does; `streamgate version` and /status show them. The image
# has no shell: orchestrators probe the admin port's /healthz and /readyz
# (data plane) and the REST API's / (control plane) over HTTP.

# The Go release of go.work; any patch release builds it.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# The binary is the control module's; it needs the dataplane module beside
# it and nothing else of the workspace. Modules first, their own layer.
WORKDIR /src
COPY dataplane/go.mod dataplane/go.sum dataplane/
COPY control/go.mod control/go.sum control/
WORKDIR /src/control
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY dataplane/ /src/dataplane/
COPY control/ /src/control/
ARG VERSION=""
ARG COMMIT=""
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w ${VERSION:+-X streamgate/dataplane/buildinfo.version=$VERSION} ${COMMIT:+-X streamgate/dataplane/buildinfo.commit=$COMMIT}" \
      -o /out/streamgate ./cmd/streamgate && \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/streamgate /usr/local/bin/streamgate
# Where `up` writes the embedded Redis's password, and the disk queues' home.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
# REST API, admin (/metrics, /healthz, /readyz), TCP, UDP and HTTP ingest.
EXPOSE 8000/tcp 8080/tcp 8081/tcp 8082/udp 8083/tcp
ENTRYPOINT ["streamgate"]
CMD ["up"]
