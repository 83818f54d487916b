# pgkeeper worker (and CLI) with PostgreSQL client tools of the server's major version:
# pg_dump refuses to dump a server newer than itself. Debian bookworm ships 15; for another
# major, add the PGDG apt repository and pass --build-arg PG_MAJOR=16 (see README).

# Build: type-check and compile to dist/ (the worker runs compiled: less memory than tsx).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY common ./common
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY client ./client
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim
ARG PG_MAJOR=15
RUN apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
 && rm -rf /var/lib/apt/lists/*
ENV PG_BIN_DIR=/usr/lib/postgresql/${PG_MAJOR}/bin \
    BACKUP_DIR=/backups \
    NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN mkdir -p /backups && chown node:node /backups
USER node
VOLUME ["/backups"]
# `docker compose exec worker /app/bin/pgkeeper ...` runs the CLI in the same image.
CMD ["node", "--max-semi-space-size=1", "dist/worker/main.js"]
