# One base for every stage; --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:... pins it.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compile with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependencies alone; npm's cache stays behind in this stage.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# What runs: package.json (it makes dist/ ES modules), node_modules and dist/, all owned
# by root, so the process cannot change its own code.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# STATE_FILE's directory, the one place the process writes, owned by the runtime user. A
# volume, so the state outlives the container; a new named volume takes this ownership.
RUN mkdir -p /var/lib/pcr-sidecar && chown 1000:1000 /var/lib/pcr-sidecar && chmod 700 /var/lib/pcr-sidecar
ENV STATE_FILE=/var/lib/pcr-sidecar/state.json
VOLUME ["/var/lib/pcr-sidecar"]
# The image's node user, by number: Kubernetes can verify runAsNonRoot only for a numeric user.
USER 1000:1000
EXPOSE 8080
# close-with-grace stops the monitor after its current check, within 10 s.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# A young generation of 1 MB a semi-space instead of up to 16: under load V8 would otherwise
# grow it to hold about 30 MB more, for the same requests a second (bench/README.md, memory).
CMD ["node", "--max-semi-space-size=1", "dist/src/server.js"]
