/** `npm run api`: the HTTP API against the services named by the environment. */
import { loadConfigOrExit } from '../config';
import { createDb } from '../infra/db';
import { createLogger } from '../infra/logger';
import { createTemporalClient } from '../infra/temporal';
import { createApp } from './app';

function main(): void {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'api' });
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX });
  const temporal = createTemporalClient(config);
  const { app, close } = createApp({ config, db, temporal, logger });

  const server = app.listen(config.PORT, config.HOST, () => {
    logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'API listening');
  });
  server.on('error', (err) => {
    logger.fatal({ err }, `API could not listen on ${config.HOST}:${config.PORT}`);
    process.exit(1);
  });

  const stop = (signal: string): void => {
    logger.info({ signal }, 'API stopping');
    void close(); // event streams end, so the server can
    server.close(() => {
      void Promise.allSettled([db.destroy(), temporal.connection.close()]).then(() =>
        process.exit(0),
      );
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
