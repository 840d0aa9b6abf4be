# quorumlite node image: Bun runtime + the project's sources.
FROM oven/bun:1.4.5-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts
COPY src ./src
COPY bin ./bin
ENV NODE_ENV=production
# See src/cli/allocator-settings.ts.
ENV MIMALLOC_PURGE_DELAY=1000
EXPOSE 8080 9001
VOLUME /data
CMD ["bun", "src/cli/main.ts", "serve"]
