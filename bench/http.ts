/**
 * A small JSON client over `node:http` with a keep-alive agent: one socket per concurrent client and
 * no per-request allocation beyond the body, so the load generator costs little CPU next to the API
 * it measures (global `fetch` costs several times more per request).
 */
import http from 'node:http';

export interface JsonResponse {
  status: number;
  body: unknown;
}

export class JsonClient {
  private readonly agent: http.Agent;
  private readonly url: URL;
  private readonly headers: Record<string, string>;

  constructor(baseUrl: string, apiKey: string, maxSockets: number) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.headers = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
  }

  request(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<JsonResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port || 80,
          path,
          method,
          agent: this.agent,
          timeout: timeoutMs,
          headers: payload
            ? {
                ...this.headers,
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(payload),
              }
            : this.headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // Not JSON: hand back the text.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
