# syntax=docker/dockerfile:1
# vapora-learning worker image: ghcr.io/vapora/vapora-learning:<version>
# Build: docker build -t ghcr.io/vapora/vapora-learning:0.1.0 .

ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Compile TypeScript with the full dependency set.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only (same base image, so native addons such as
#    @surrealdb/node match the runtime's libc and architecture).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# 3. Runtime: no compiler, no dev dependencies, non-root.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HTTP_PORT=8080
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root streams ./streams
# Numeric uid of the image's `node` user, so Kubernetes can verify runAsNonRoot.
# Files stay root-owned: the app cannot modify itself (and k8s mounts the root read-only).
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "bin/vapora-learning.js"]
CMD ["worker"]
