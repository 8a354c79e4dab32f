# The inventoryd image: inventoryd (the service) and inventoryctl (audit and
# reports) on Debian bookworm. Not built by the tests here (no image registry
# is reachable from this machine); tests/dockerfile_test.sh checks that the
# runtime package list below matches the shared libraries the binaries load
# and the -dev packages of scripts/install-deps.sh.
#
#   docker build -t inventory-ledger:0.1.0 .
#   docker run -p 50051:50051 -v inv-data:/data inventory-ledger:0.1.0

# --- build: the same dependencies as every developer machine and CI ---------
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --no-chart-tools && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINVENTORY_BENCH=OFF \
    && cmake --build build --target inventoryd inventoryctl \
    && strip --strip-debug build/tools/inventoryd build/tools/inventoryctl

# --- runtime: the two binaries and the shared libraries they load ------------
FROM debian:bookworm-slim
# runtime-packages: one per line, kept in step with install-deps.sh by
# tests/dockerfile_test.sh (each is the library package of a -dev package
# there, and each owns a library the binaries load; ca-certificates excepted).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libbz2-1.0 \
      libc-ares2 \
      libfmt9 \
      libgrpc++1.51 \
      libgrpc29 \
      libjemalloc2 \
      liblz4-1 \
      libprotobuf32 \
      librdkafka1 \
      libre2-9 \
      libsasl2-2 \
      libsimdjson14 \
      libsnappy1v5 \
      libspdlog1.10 \
      libssl3 \
      libstdc++6 \
      libzstd1 \
      zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 inventory \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin inventory \
    && mkdir /data && chown 10001:10001 /data
COPY --from=build /src/build/tools/inventoryd /src/build/tools/inventoryctl /usr/local/bin/
USER 10001:10001
ENV INVENTORY_DATA_DIR=/data \
    INVENTORY_LISTEN=0.0.0.0:50051
VOLUME /data
# 50051: gRPC (CommandService, QueryService, grpc.health.v1, reflection).
# 8080: HTTP, once the HTTP API (--http-listen) is in the binary.
EXPOSE 50051 8080
# A TCP connect to the gRPC port (the image has no gRPC health client);
# Kubernetes uses its native gRPC probe on grpc.health.v1 instead (helm/).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${INVENTORY_LISTEN##*:}"]
ENTRYPOINT ["inventoryd"]
CMD ["serve"]
