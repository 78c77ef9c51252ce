# wdstream with OpenBLAS (go build -tags openblas): about 8x faster dense
# math than the pure Go default. Build: docker build -t wdstream:local .
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -tags openblas -trimpath -o /out/wdstream ./cmd/wdstream

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/wdstream /usr/local/bin/wdstream
COPY configs/ /etc/wdstream/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["wdstream"]
CMD ["--help"]
