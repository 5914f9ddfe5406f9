# syntax=docker/dockerfile:1
# One image for every part of GoZon: `gozon all|gateway|orders|payments|web|migrate`.
#   docker build -t gozon .
#   docker run --rm -p 8080:8080 gozon                 # gozon all, on the embedded default
#   docker run --rm gozon gozon migrate                 # any part (needs its variables)

# --- build: install everything, compile, then drop the dev dependencies -------------------------
FROM node:20-bookworm AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/messaging/package.json packages/messaging/
COPY packages/adapters/package.json packages/adapters/
COPY packages/apps/package.json packages/apps/
COPY packages/web/package.json packages/web/
# The private workspaces (tests and tools): all their dependencies are dev ones, pruned below.
COPY packages/testkit/package.json packages/testkit/
COPY packages/tools/package.json packages/tools/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: node and the compiled parts only --------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
# node_modules/@gozon/* are symlinks to packages/*, and node_modules/.bin/gozon to the bin below.
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/core/package.json packages/core/
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/packages/messaging/package.json packages/messaging/
COPY --from=build /app/packages/messaging/dist packages/messaging/dist
COPY --from=build /app/packages/adapters/package.json packages/adapters/
COPY --from=build /app/packages/adapters/dist packages/adapters/dist
COPY --from=build /app/packages/apps/package.json packages/apps/
COPY --from=build /app/packages/apps/bin packages/apps/bin
COPY --from=build /app/packages/apps/dist packages/apps/dist
COPY --from=build /app/packages/web/package.json packages/web/
COPY --from=build /app/packages/web/public packages/web/public
# `gozon all` keeps its embedded data under ./.gozon-data; the app runs as the unprivileged user.
RUN mkdir -p .gozon-data && chown node:node .gozon-data
USER node
EXPOSE 8080 8081 8082 8083
# Node runs as PID 1 and receives SIGTERM itself: gozon drains and exits on it.
CMD ["node", "packages/apps/bin/gozon.js", "all"]
