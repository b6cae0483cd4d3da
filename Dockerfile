# Build stage: install dependencies (Bun comes from the npm package) and compile one binary.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# Run stage: just the binary, as a non-root user, data on a volume.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /data storagebrain && mkdir -p /data && chown storagebrain /data
COPY --from=build /src/dist/storage-brain /usr/local/bin/storage-brain
USER storagebrain
WORKDIR /data
ENV DATA_DIR=/data PORT=3000 HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s CMD ["storage-brain", "healthcheck"]
ENTRYPOINT ["storage-brain"]
CMD ["serve"]
