# syntax=docker/dockerfile:1
# The shop as a server runs it: `npm run build` in a build stage, then `node dist/main.js` on a
# slim image with production dependencies only, as an unprivileged user.
#   docker build -t wxpay-checkout .
# compose.yaml builds and runs this image behind nginx with PostgreSQL (see README, "Deploy").

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
# HOST: in a container, nginx is another machine (the shop listens on 127.0.0.1 by default)
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PGLITE_DIR=/app/data/pglite
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY views ./views
COPY public ./public
# the image's own "node" user (uid 1000); it owns only data/, for embedded PGlite when no
# DATABASE_URL is given (compose always gives one)
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# exec form: node is PID 1 and gets SIGTERM itself (docker stop): it stops taking requests,
# answers the waiting status polls, finishes the running requests and closes the database
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
