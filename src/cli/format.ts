/**
 * Output formatting as the docker CLI does it: tabwriter tables (minwidth 10, padding 3), list commands' `--format`
 * (`table` prefix, `json`, or a Go template: go-template.ts) and docker's words for a template's errors.
 */
import { WharfError } from '../errors/index.js';
import { withExitStatus } from './errors.js';
import { compileTemplate, markListRows, rowJson, type RowType, type Template } from './go-template.js';

export { compileTemplate, goJson, type RowType, type Template } from './go-template.js';

/** Go's text/tabwriter with docker's settings: each column is as wide as its widest cell + 3, at least 10. */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((cell, i) => {
      if (i === r.length - 1) return; // the last cell of a line is not aligned
      widths[i] = Math.max(widths[i] ?? 10, [...cell].length + 3);
    });
  }
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[i]! - [...cell].length))))
        .join(''),
    )
    .map((l) => l + '\n')
    .join('');
}

/** The fields every docker formatter context has (its embedded HeaderContext). */
const HEADER_CONTEXT = ['Header', 'FullHeader'];

/**
 * Render rows for a list command's `--format`: 'table' (default columns), 'table TEMPLATE' (header from the
 * column names), 'json' (one JSON object per line), or a plain template (one line per row). With the rows' `type`,
 * a field the type lacks fails as docker's formatter fails ("template parsing error: template: …").
 */
export function renderList<T extends Record<string, unknown>>(
  rows: readonly T[],
  format: string | undefined,
  defaultTable: string,
  headers: Record<string, string>,
  type?: RowType,
): string {
  const f = format?.trim() || 'table';
  if (f === 'json') return rows.map((r) => rowJson(r) + '\n').join('');
  markListRows(rows);
  const isTable = f === 'table' || f.startsWith('table ');
  const tmplSrc = f === 'table' ? defaultTable : isTable ? f.slice(6) : f;
  const rowType = type && { ...type, fields: [...type.fields, ...HEADER_CONTEXT] };
  // docker's words for a template that does not parse: ps's "failed to parse template", the formatter's others.
  const tmpl = templateWords(rowType?.checkFirst ? 'failed to parse template: ' : 'template parsing error: ', () =>
    compileTemplate(tmplSrc, rowType ? { rowType } : {}),
  );
  if (rowType?.checkFirst) templateWords('failed to execute template: ', () => tmpl.render({}));
  if (rowType)
    return templateWords('template parsing error: ', () => renderRows(rows, tmpl, tmplSrc, isTable, headers));
  return renderRows(rows, tmpl, tmplSrc, isTable, headers);
}

/**
 * Run `fn`; a template's error (Go's "template: …") gets the docker CLI's words before it, and with `status` that
 * exit status (its `inspect`, `info`, `version` and `events` exit 64 on a template that does not parse).
 */
export function templateWords<T>(prefix: string, fn: () => T, status?: number): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof WharfError) || !err.message.startsWith('template: ')) throw err;
    const out = new WharfError('INVALID_ARGUMENT', prefix + err.message);
    throw status === undefined ? out : withExitStatus(out, status);
  }
}

function renderRows(
  rows: readonly Record<string, unknown>[],
  tmpl: Template,
  tmplSrc: string,
  isTable: boolean,
  headers: Record<string, string>,
): string {
  if (!isTable) return rows.map((r) => tmpl.render(r) + '\n').join('');
  const names: Record<string, unknown> = {};
  for (const m of tmplSrc.matchAll(/\.([A-Za-z][A-Za-z0-9]*)/g)) names[m[1]!] = headers[m[1]!] ?? m[1]!.toUpperCase();
  // A method's column (`{{.Label "com.example.x"}}`) is headed by its argument, as docker's header context does it.
  for (const m of tmplSrc.matchAll(/\.([A-Za-z][A-Za-z0-9]*)\s+["`]/g)) names[m[1]!] = String;
  const headerRow = tmpl.render(names);
  const lines = [headerRow, ...rows.map((r) => tmpl.render(r))];
  return renderTable(lines.map((l) => l.split('\t')));
}
