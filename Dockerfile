# One image for the API, the workers, the migrations and the partner simulators;
# docker-compose.yml picks the command.

FROM node:20-bookworm-slim AS base
# The lockfile and package.json's allowScripts policy are npm 11's; node:20 ships npm 10, which
# would ignore the policy and run the install scripts it denies.
RUN npm install --global npm@11.19.1 && npm cache clean --force
ENV NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./

# Compiles TypeScript to dist/ (the worker bundles workflows from dist/workflows at start), and
# builds the ops console into console/dist (served by the API at /console).
FROM base AS build
RUN npm ci
COPY . .
RUN npm run build
RUN npm run console:build

FROM base AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
# The partner simulators' state (docker-compose.yml mounts a volume here; a new volume takes this
# folder's owner).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
CMD ["node", "dist/api/server.js"]
