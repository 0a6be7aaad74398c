# The Farol hub as a container image (issue #15, docs/adr/0019-container-images-and-manifests.md).
# Build from the repository root:
#
#   docker build -f deploy/docker/hub.Dockerfile -t farol-hub .
#   docker run -d --name farol-hub -p 8080:8080 -v farol-data:/data --memory 256m farol-hub
#
# Two stages: `build` installs every dependency, builds the hub, the agent bundle and the
# dashboard, then installs only the hub's production dependencies into /out; the final stage is
# the slim Node 24 image plus /out. The hub runs as uid 1000 (the `node` user of the official
# images), keeps everything in the /data volume (database, hub-key.json, secret.key,
# admin-token) and listens on 0.0.0.0:8080. Without a registry, pass other bases built from the
# same Node 24: --build-arg NODE_IMAGE=… --build-arg BUILD_IMAGE=… (tests/support/node24-images.ts).
ARG NODE_IMAGE=node:24-bookworm-slim
ARG BUILD_IMAGE=node:24-bookworm

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY apps/hub/package.json apps/hub/
COPY apps/agent/package.json apps/agent/
COPY apps/cli/package.json apps/cli/
COPY apps/web/package.json apps/web/
COPY packages/protocol/package.json packages/protocol/
COPY packages/client/package.json packages/client/
COPY packages/probes/package.json packages/probes/
COPY packages/test-support/package.json packages/test-support/
# No install scripts but the two the images need: better-sqlite3 (a prebuilt binary, else
# compiled) and esbuild. node-pty (the agent's terminal) is left out: see agent.Dockerfile.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY . .
RUN node scripts/build.mjs
# The hub's production dependencies only (without type declarations, source maps and docs),
# beside its bundle, the agent bundle it serves to new machines and the dashboard.
RUN mkdir -p /out \
 && tar -cf - package.json package-lock.json apps/*/package.json packages/*/package.json apps/hub/dist apps/agent/dist apps/web/dist | tar -xf - -C /out \
 && cd /out && npm ci --omit=dev --ignore-scripts --workspace @farol/hub \
 && mkdir -p node_modules/better-sqlite3/build/Release \
 && cp /src/node_modules/better-sqlite3/build/Release/better_sqlite3.node node_modules/better-sqlite3/build/Release/ \
 && rm -rf node_modules/@farol node_modules/better-sqlite3/deps node_modules/better-sqlite3/src packages apps/cli apps/web/package.json apps/agent/package.json \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' -o -name '*.ts' -o -name '*.tsbuildinfo' \) ! -iname 'licen*' -exec rm -f {} + \
 && rm -rf /root/.npm

FROM ${NODE_IMAGE}
ENV NODE_ENV=production FAROL_DATA_DIR=/data FAROL_BIND=0.0.0.0 FAROL_PORT=8080
WORKDIR /app
COPY --from=build /out /app
COPY deploy/docker/hub-entrypoint.mjs /app/bin/farol-hub.mjs
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
USER 1000:1000
VOLUME /data
EXPOSE 8080
# /health answers while the process serves HTTP; /ready (the database answers) is for load
# balancers and Kubernetes. With FAROL_TLS_CERT set, the hub serves HTTPS: adapt the URL.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FAROL_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/farol-hub.mjs"]
