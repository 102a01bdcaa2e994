# redis-uv container image.
#   docker build -t redis-uv .
#   docker run -d -p 6379:6379 -v redis-uv-data:/data redis-uv
# Extra arguments replace the default command, e.g.
#   docker run redis-uv redis-uv --protected-mode no --dir /data --maxmemory 100mb

# ---- build stage: official Swift image, same Swift as development (6.3.1) ----
FROM swift:6.3.1-bookworm AS build

# libuv headers for the CLibUV system-library target; Lua 5.1 (+ the static cjson and
# bit libraries) for CLua.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libuv1-dev pkg-config \
       liblua5.1-0-dev lua-cjson-dev lua-bitop-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# The Swift runtime is linked statically: the runtime image needs only libuv1 and liblua5.1-0.
RUN swift build -c release --static-swift-stdlib --product redis-uv \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/redis-uv" /out/redis-uv

# ---- runtime stage ----
FROM debian:bookworm-slim

# User redis (uid/gid 999, as in the official redis image) is made first, so
# that redis-tools' install script finds it instead of making its own.
# libuv1, liblua5.1-0: the only shared libraries redis-uv needs beyond libc/libstdc++;
# redis-tools: redis-cli for the HEALTHCHECK. Versions come from bookworm's
# suite: pinning exact Debian revisions would break on every security update.
# hadolint ignore=DL3008
RUN groupadd --system --gid 999 redis \
    && useradd --system --uid 999 --gid redis --home-dir /data --shell /usr/sbin/nologin redis \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libuv1 liblua5.1-0 redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data \
    && chown redis:redis /data

COPY --from=build /out/redis-uv /usr/local/bin/redis-uv

VOLUME /data
WORKDIR /data
USER 999:999
EXPOSE 6379

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["sh", "-c", "redis-cli -p 6379 ping | grep -q PONG"]

# Like the official redis image: protected mode off (the container's network
# is the boundary; redis-uv binds all interfaces by default, as redis 7 does).
CMD ["redis-uv", "--protected-mode", "no", "--dir", "/data"]
