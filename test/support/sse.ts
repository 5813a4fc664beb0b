/** A plain node http client for the API's server-sent event streams, as the tests read them. */
import http from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** Opens an event stream; `events` fills as they arrive, `ended` settles when the server closes. */
export function openStream(url: string, headers: Record<string, string>) {
  const events: SseEvent[] = [];
  let status = 0;
  let contentType = '';
  let request!: http.ClientRequest;
  const ended = new Promise<void>((resolve, reject) => {
    request = http.get(url, { headers }, (res) => {
      status = res.statusCode ?? 0;
      contentType = res.headers['content-type'] ?? '';
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue; // a comment: the heartbeat
            const at = line.indexOf(': ');
            fields.set(line.slice(0, at), line.slice(at + 2));
          }
          if (!fields.has('event')) continue;
          events.push({
            id: fields.get('id'),
            event: fields.get('event')!,
            data: JSON.parse(fields.get('data') ?? '{}') as Record<string, unknown>,
          });
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    request.on('error', reject);
  });
  return {
    events,
    ended,
    status: () => status,
    contentType: () => contentType,
    /** Hangs up (as a page left): `ended` then settles, not rejects. */
    close: () => {
      ended.catch(() => undefined);
      request.destroy();
    },
  };
}
