/**
 * Text renderings of tracking tables shared by several commands: numbers at a precision, Markdown and
 * CSV tables, and the diff rows of `exp diff`, `metrics diff` and `params diff`. Pure functions of
 * data; the commands decide where the text goes.
 */
import type { ValueDiff } from './exp.js';

export function formatNumber(v: number, precision = 5): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  // Hot path of `exp show` (200,000 cells): toPrecision alone, then trailing zeros trimmed by hand;
  // a round trip through Number() and String() costs ten times more.
  const s = v.toPrecision(precision);
  const e = s.indexOf('e');
  const mantissa = e < 0 ? s : s.slice(0, e);
  let end = mantissa.length;
  if (mantissa.includes('.')) {
    while (mantissa.charCodeAt(end - 1) === 48) end--;
    if (mantissa.charCodeAt(end - 1) === 46) end--;
  }
  return e < 0 ? mantissa.slice(0, end) : mantissa.slice(0, end) + s.slice(e);
}

export function formatValue(v: number | string | null | undefined, precision = 5): string {
  if (v === null || v === undefined) return '-';
  return typeof v === 'number' ? formatNumber(v, precision) : v;
}

export function formatChange(d: ValueDiff, precision = 5): string {
  if (d.change === null) return d.old === d.new ? '0' : '-';
  const sign = d.change > 0 ? '+' : '';
  return `${sign}${formatNumber(d.change, precision)}`;
}

export function formatPct(d: ValueDiff): string {
  if (d.pct === null) return '-';
  const sign = d.pct > 0 ? '+' : '';
  return `${sign}${d.pct.toFixed(Math.abs(d.pct) < 10 ? 2 : 1)}%`;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(header: string[], rows: string[][]): string[] {
  return [`| ${header.map(mdCell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)];
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvTable(header: string[], rows: string[][]): string[] {
  return [header.map(csvCell).join(','), ...rows.map((r) => r.map(csvCell).join(','))];
}
