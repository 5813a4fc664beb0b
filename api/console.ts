/**
 * Serves the ops console (built by Vite into console/dist) at /console: hashed assets cached for
 * a year, index.html never cached and answered for every other page under /console/ so the
 * console's own routes survive a reload. Nothing is fetched from elsewhere (a strict CSP).
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Problem } from './problem';
import { defineRoute, type RouteSpec } from './route';

/** From the sources (api/) or the compiled build (dist/api/), the repository's console/dist. */
export function consoleDir(): string | undefined {
  return [
    path.resolve(__dirname, '..', 'console', 'dist'),
    path.resolve(__dirname, '..', '..', 'console', 'dist'),
  ].find((dir) => fs.existsSync(path.join(dir, 'index.html')));
}

const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const hardened = (res: Response): void => {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Referrer-Policy', 'same-origin');
};

function sendIndex(dir: string | undefined, res: Response): void {
  if (!dir) {
    throw new Problem(
      'unavailable',
      'The console is not built: run `npm run console:build` (`npm start` and `npm test` build it).',
    );
  }
  hardened(res);
  res.set('Content-Security-Policy', contentSecurityPolicy);
  res.set('Cache-Control', 'no-cache');
  res.sendFile(path.join(dir, 'index.html'));
}

/** `GET /console`: the console's page (it reads everything else from this API). */
export function consoleRoutes(dir = consoleDir()): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/console',
      operationId: 'console',
      summary: 'The ops console: a web app over this API (sign in with an API key)',
      tag: 'System',
      auth: 'public',
      responses: {
        200: { description: 'An HTML page.', contentType: 'text/html' },
        503: { description: 'The console has not been built.' },
      },
      handler: (_input, req, res) => {
        // Its assets and pages are relative to /console/, so the slash matters.
        if (!req.originalUrl.split('?')[0]?.endsWith('/')) return res.redirect(308, '/console/');
        sendIndex(dir, res);
      },
    }),
  ];
}

/** The built assets, then index.html for any other GET under /console/ (the console's pages). */
export function mountConsoleAssets(app: Express, dir = consoleDir()): void {
  if (dir) {
    app.use(
      '/console/assets',
      express.static(path.join(dir, 'assets'), {
        index: false,
        immutable: true,
        maxAge: '365d',
        setHeaders: hardened,
      }),
      (req: Request) => {
        throw new Problem('not-found', `No console asset ${req.path}.`);
      },
    );
    app.use('/console', express.static(dir, { index: false, maxAge: '1h', setHeaders: hardened }));
  }
  app.use('/console', (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    sendIndex(dir, res);
  });
}
