/**
 * The warehouse simulator's shipments on disk, so a restarted simulator still knows them: one
 * JSON line per change of a shipment (its whole state), appended; on open the last line of each
 * shipment wins, and the file is rewritten with those lines only. A line torn by a crash is
 * skipped.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One shipment as the journal keeps it (see warehouse.ts's Entry). */
export interface JournalRecord<S extends { shipmentId: string } = { shipmentId: string }> {
  shipment: S;
  content: string;
  accepted: Record<string, unknown>;
  seq: number;
  /** Its place in the order shipments left the warehouse, once shipped. */
  shippedSeq?: number;
  /** The callbacks it sent, by `webhook-id`; `done` once answered 2xx. */
  callbacks: { type: string; webhookId: string; done: boolean }[];
}

export interface Journal {
  /** The shipments recorded so far, in the order they were accepted. */
  records: JournalRecord[];
  write(record: JournalRecord): void;
}

export function openJournal(file: string): Journal {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const latest = new Map<string, JournalRecord>();
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const record = JSON.parse(line) as JournalRecord;
        latest.set(record.shipment.shipmentId, record);
      } catch {
        /* a line torn by a crash: the change it described never answered */
      }
    }
  }
  const records = [...latest.values()].sort((a, b) => a.seq - b.seq);
  const compacted = `${file}.tmp`;
  fs.writeFileSync(compacted, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  fs.renameSync(compacted, file);
  return {
    records,
    write: (record) => fs.appendFileSync(file, `${JSON.stringify(record)}\n`),
  };
}
