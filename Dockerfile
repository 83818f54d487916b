# The pgkeeper worker (and CLI): Node 22 LTS (Node 20 is past its end of life, and the AWS SDK's
# releases after early 2027 need 22), the PostgreSQL client tools of the server's major version
# (pg_dump refuses to dump a newer server), zstd and age for the archive stream.
# Debian bookworm ships PostgreSQL 15; for another major add the PGDG apt repository and pass
# --build-arg PG_MAJOR=16 (see README, "Run with Docker").
ARG NODE_VERSION=22

# Build: compile to dist/ and bundle the workflows once (the worker loads that bundle as is).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY common ./common
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY client ./client
COPY scripts/bundle-cli.sh ./scripts/
RUN npm run build

# Run: production dependencies only (no tsx, no pino-pretty, no TypeScript), the compiled code.
FROM node:${NODE_VERSION}-bookworm-slim
ARG PG_MAJOR=15
RUN apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" zstd age ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# No BACKUP_DIR here: with it, a BACKUP_STORE set at run time would be refused (set one, not
# both). Unset, the default store .data/backups is a link to the /backups volume (below).
ENV PG_BIN_DIR=/usr/lib/postgresql/${PG_MAJOR}/bin \
    SCRATCH_DIR=/scratch \
    NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The default store (BACKUP_DIR unset: .data/backups under /app) is the /backups volume.
RUN mkdir -p /backups /scratch /app/.data && ln -s /backups /app/.data/backups && chown node:node /backups /scratch
USER node
# /backups: the local store (BACKUP_DIR=/backups) or copy (BACKUP_COPIES=file:///backups); /scratch: restores' archive files.
VOLUME ["/backups", "/scratch"]
# `docker compose exec worker /app/bin/pgkeeper ...` runs the CLI in the same image.
CMD ["/app/bin/pgkeeper-worker"]
