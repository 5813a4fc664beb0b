# One image for the API, the workers, the migrations and the partner simulators;
# docker-compose.yml picks the command.

FROM node:20-bookworm-slim AS base
# The lockfile and package.json's allowScripts policy are npm 11's; node:20 ships npm 10, which
# would ignore the policy and run the install scripts it denies.
RUN npm install --global npm@11.19.1 && npm cache clean --force
ENV NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./

# Compiles TypeScript to dist/ (the worker bundles workflows from dist/workflows at start).
FROM base AS build
RUN npm ci
COPY . .
RUN npm run build

FROM base AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["node", "dist/api/server.js"]
