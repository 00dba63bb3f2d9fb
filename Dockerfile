# ChittyCharge: the `chittycharge` binary on Debian bookworm, serving on :8787.
#
#   docker build -t chittycharge .
#   docker run -d --name chittycharge -p 8787:8787 --env-file chittycharge.env \
#     -v chittycharge-data:/var/lib/chittycharge -v "$PWD/policies:/app/policies:ro" chittycharge
#   docker kill --signal=HUP chittycharge     # reload the policy folder
#
# The build toolchain matches the one the project is developed and tested with (6.3.1).

# ---- build -----------------------------------------------------------------------------
FROM swift:6.3.1-bookworm AS build

# The CLua system-library target finds Lua 5.4 through pkg-config. Versions are not
# pinned: bookworm only ships security fixes, which a rebuild should pick up.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends liblua5.4-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first, so a source change does not fetch them again. Package.resolved is
# not in git; when the build context has one, it pins the versions.
COPY Package.swift Package.resolved* ./
RUN swift package resolve

# The whole package: SwiftPM checks every target's folder (tests and benchmarks too)
# even when it builds one product.
COPY . .

# Swift's runtime and Foundation linked in, so the runtime image needs no toolchain;
# Lua, libstdc++ and zlib stay shared and come from Debian (see the runtime stage).
RUN swift build -c release --product chittycharge --static-swift-stdlib \
    && mkdir -p /staging \
    && cp "$(swift build -c release --product chittycharge --static-swift-stdlib --show-bin-path)/chittycharge" /staging/ \
    && strip /staging/chittycharge

# ---- run -------------------------------------------------------------------------------
FROM debian:bookworm-slim

# What `ldd chittycharge` lists beyond libc: liblua5.4.so.0, libstdc++.so.6, libgcc_s.so.1
# and libz.so.1. ca-certificates for TLS to Stripe, ChittyID and ChittyRegistry; tzdata
# for local times in logs and policies.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       liblua5.4-0 libstdc++6 libgcc-s1 zlib1g ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*

# A system user with no shell and no home of its own: it owns the data and nothing else.
RUN groupadd --system --gid 10001 chittycharge \
    && useradd --system --uid 10001 --gid chittycharge --home-dir /var/lib/chittycharge --no-create-home \
       --shell /usr/sbin/nologin chittycharge \
    && install -d -o chittycharge -g chittycharge -m 0750 /var/lib/chittycharge

COPY --from=build /staging/chittycharge /usr/local/bin/chittycharge
# Policies are root's: the service reads them but cannot change its own rules.
COPY --chown=root:root policies /app/policies

WORKDIR /app
ENV HOST=0.0.0.0 \
    PORT=8787 \
    POLICY_DIR=/app/policies \
    DATABASE_URL=sqlite:///var/lib/chittycharge/chittycharge.sqlite \
    LOG_LEVEL=info

VOLUME ["/app/policies", "/var/lib/chittycharge"]
EXPOSE 8787
# Numeric, so orchestrators can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001

# bash's /dev/tcp instead of curl or wget, which the slim image lacks and would add a few
# megabytes and their own CVEs for one GET.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8787} && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && grep -q '\"status\":\"healthy\"' <&3"]

# SIGTERM (docker stop) drains requests and stops gracefully; SIGHUP reloads the policies.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/chittycharge"]
CMD ["serve"]
