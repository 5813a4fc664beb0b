/**
 * Reading an import file: a header row naming the columns, then records with the line each starts
 * on. Malformed records (a stray quote, a wrong number of fields) come out as rejections and the
 * rest of the file is still read.
 */
import fs from 'node:fs';
import { parse, type CsvError, type Info } from 'csv-parse';

export interface Rejection {
  line: number;
  field: string;
  message: string;
}

export type CsvRow =
  { line: number; values: Record<string, string> } | { line: number; rejected: Rejection[] };

export interface Columns {
  required: readonly string[];
  optional: readonly string[];
}

/** The header is missing or names unknown columns: nothing in the file can be imported. */
export class HeaderError extends Error {}

export interface CsvFile {
  rows: AsyncIterable<CsvRow>;
  /** Bytes parsed so far, for the progress bar. */
  bytesRead: () => number;
}

const parseErrors: Record<string, string> = {
  CSV_INVALID_CLOSING_QUOTE: 'malformed quoting',
  CSV_QUOTE_NOT_CLOSED: 'a quote is not closed before the end of the file',
  CSV_RECORD_INCONSISTENT_COLUMNS: 'wrong number of fields',
};

export function openCsv(file: string, columns: Columns): CsvFile {
  let lastRecordEnd = 0;
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    // Lenient on quotes inside unquoted fields (`Ada "the" Great`), so a stray quote spoils one
    // row rather than the rest of the file; rows are checked field by field afterwards anyway.
    relax_quotes: true,
    relax_column_count: true,
    skip_records_with_error: true,
    on_record: (record: string[], context: Info) => {
      lastRecordEnd = context.lines;
      return record;
    },
  });
  // Records the parser gives up on are announced here, before the records read after them.
  const skipped: Rejection[] = [];
  parser.on('skip', (err: CsvError & { lines?: number }) => {
    const line = lastRecordEnd + 1;
    const end = err.lines ?? line;
    const message = parseErrors[err.code] ?? err.message;
    skipped.push({
      line,
      field: 'row',
      message: end > line ? `${message} (lines ${line} to ${end} not imported)` : message,
    });
  });
  fs.createReadStream(file)
    .on('error', (err) => parser.destroy(err))
    .pipe(parser);

  async function* rows(): AsyncGenerator<CsvRow> {
    let header: string[] | undefined;
    const records = parser as AsyncIterable<{ record: string[]; info: Info }>;
    for await (const { record, info } of records) {
      for (const rejection of skipped.splice(0))
        yield { line: rejection.line, rejected: [rejection] };
      // `info.lines` is where the record ends; a quoted field may span lines.
      const line = info.lines - record.reduce((n, field) => n + newlines(field), 0);
      if (!header) {
        header = checkHeader(
          record.map((name) => name.trim()),
          columns,
          line,
        );
        continue;
      }
      if (record.length !== header.length) {
        const message = `expected ${header.length} fields (${header.join(',')}), got ${record.length}`;
        yield { line, rejected: [{ line, field: 'row', message }] };
        continue;
      }
      const values: Record<string, string> = {};
      header.forEach((column, i) => (values[column] = record[i]!.trim()));
      yield { line, values };
    }
    if (!header) throw new HeaderError(`the file is empty: expected a header row`);
    for (const rejection of skipped.splice(0))
      yield { line: rejection.line, rejected: [rejection] };
  }

  return { rows: rows(), bytesRead: () => parser.info.bytes };
}

function newlines(field: string): number {
  let count = 0;
  for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) count++;
  return count;
}

function checkHeader(record: string[], columns: Columns, line: number): string[] {
  const known = [...columns.required, ...columns.optional];
  const expected = `expected a header row with ${columns.required.join(',')}${
    columns.optional.length ? ` (optional: ${columns.optional.join(',')})` : ''
  }`;
  const unknown = record.filter((name) => !known.includes(name));
  if (unknown.length)
    throw new HeaderError(`line ${line}: unknown column '${unknown[0]}': ${expected}`);
  const missing = columns.required.filter((name) => !record.includes(name));
  if (missing.length)
    throw new HeaderError(`line ${line}: missing column '${missing[0]}': ${expected}`);
  const repeated = record.find((name, i) => record.indexOf(name) !== i);
  if (repeated) throw new HeaderError(`line ${line}: column '${repeated}' appears twice`);
  return record;
}
