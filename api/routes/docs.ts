import type { Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import { defineRoute, type RouteSpec } from '../route';

const options = { swaggerUrl: '/openapi.json', customSiteTitle: 'loyalty-ops API' };

/** Swagger UI's assets, served from the installed package (no CDN: this must work offline). */
export function mountDocsAssets(app: Express): void {
  app.use('/docs', swaggerUi.serveFiles(undefined, options));
}

export function docsRoutes(): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/docs',
      operationId: 'docs',
      summary: 'Human-readable API documentation (Swagger UI over /openapi.json)',
      tag: 'System',
      auth: 'public',
      responses: { 200: { description: 'An HTML page.', contentType: 'text/html' } },
      handler: (_input, req, res) => {
        // The page loads its assets relative to /docs/, so the slash matters.
        if (!req.originalUrl.split('?')[0]?.endsWith('/')) return res.redirect(301, '/docs/');
        res.type('html').send(swaggerUi.generateHTML(undefined, options));
      },
    }),
  ];
}
