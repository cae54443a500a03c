# Multi-stage build: a static flowwatch binary on a distroless base, running as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
    -o /out/flowwatch ./cmd/flowwatch

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flowwatch /usr/local/bin/flowwatch
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/flowwatch"]
CMD ["--help"]
