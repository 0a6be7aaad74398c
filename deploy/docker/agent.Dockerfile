# The Farol agent as a container that monitors its Docker host (issue #15,
# docs/adr/0019-container-images-and-manifests.md). Build from the repository root:
#
#   docker build -f deploy/docker/agent.Dockerfile -t farol-agent .
#   docker run -d --name farol-agent --restart unless-stopped --pid host --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock:ro -v /proc:/host/proc:ro -v /sys:/host/sys:ro \
#     -v /:/host:ro,rslave -v farol-agent:/var/lib/farol-agent \
#     -e FAROL_HUB_URL=http://HUB:8080 -e FAROL_JOIN_TOKEN=jt_… farol-agent
#
# What each right is for (docs/operations.md, "The agent in a container"):
#   - the Docker socket: containers, health, restarts, CPU and memory per container. Mounting it
#     `:ro` only stops the file being replaced; anyone who can connect may call the whole Engine
#     API. What the agent does with it is decided by its policy (policy.json in the state
#     volume): `farol agent policy allow docker` for read-only monitoring, docker_write /
#     docker.deploy / docker.images only where wanted. For a socket that truly refuses writes,
#     put a Docker socket proxy in front and set DOCKER_HOST=tcp://proxy:2375.
#   - --pid host: /proc inside the container is the host's, so load, memory and the process list
#     are the host's; host /proc and /sys are also mounted read-only at /host/proc, /host/sys.
#   - / at /host, read-only: the host's filesystems appear in the disk list.
#   - --network host: the host's addresses and hostname instead of the container's.
#   Remote commands (`farol exec`) run inside this container, not on the host; there is no
#   terminal (node-pty is not in the image). For either on the host itself, install the one-file
#   agent there instead (README, "Add another machine").
ARG NODE_IMAGE=node:24-bookworm-slim
ARG BUILD_IMAGE=node:24-bookworm

# The same first steps as hub.Dockerfile, so a host that builds both reuses these layers.
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
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY . .
RUN node scripts/build.mjs

FROM ${NODE_IMAGE}
ENV NODE_ENV=production FAROL_AGENT_STATE_DIR=/var/lib/farol-agent
# The agent is one self-contained file (scripts/build.mjs).
COPY --from=build /src/apps/agent/dist/farol-agent.mjs /app/farol-agent.mjs
RUN mkdir -p /var/lib/farol-agent && chmod 0700 /var/lib/farol-agent
VOLUME /var/lib/farol-agent
# Runs as root: the Docker socket is root:docker and the host's /proc entries of other users'
# processes are readable only to root. Everything it writes is the state volume.
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/farol-agent.mjs"]
CMD ["run"]
