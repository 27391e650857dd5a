import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDuration } from '../../src/util/index.js';
import { is } from '../../src/errors/index.js';

test('parseGoDuration reads what Go time.ParseDuration reads, in nanoseconds', () => {
  const rows: Array<[string, number]> = [
    ['0', 0],
    ['-0', 0],
    ['300ms', 300e6],
    ['1.5h', 5400e9],
    ['1h30m', 5400e9],
    ['2h45m10.5s', (2 * 3600 + 45 * 60 + 10.5) * 1e9],
    ['-2m', -120e9],
    ['+5s', 5e9],
    ['.5s', 0.5e9],
    ['1.s', 1e9],
    ['10us', 10e3],
    ['10µs', 10e3],
    ['10μs', 10e3],
    ['7ns', 7],
  ];
  for (const [text, ns] of rows) assert.equal(parseGoDuration(text), ns, text);
});

test("parseGoDuration refuses what Go refuses, with Go's messages", () => {
  const rows: Array<[string, RegExp]> = [
    ['', /^time: invalid duration ""$/],
    ['10', /^time: missing unit in duration "10"$/],
    ['1d', /^time: unknown unit "d" in duration "1d"$/],
    ['1H', /^time: unknown unit "H" in duration "1H"$/],
    ['.s', /^time: invalid duration/],
    ['s', /^time: invalid duration/],
    ['-', /^time: invalid duration/],
    ['1h-1m', /^time: unknown unit "h-"/],
  ];
  for (const [text, re] of rows) {
    assert.throws(
      () => parseGoDuration(text),
      (e: unknown) => is(e, 'INVALID_ARGUMENT') && re.test((e as Error).message),
      text,
    );
  }
});

test('formatGoDuration writes what Go Duration.String() writes, and reads back', () => {
  const rows: Array<[number, string]> = [
    [0, '0s'],
    [7, '7ns'],
    [1500, '1.5µs'],
    [500e6, '500ms'],
    [1.5e9, '1.5s'],
    [5e9, '5s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [(26 * 3600 + 3 * 60 + 4.25) * 1e9, '26h3m4.25s'],
    [-90e9, '-1m30s'],
  ];
  for (const [ns, text] of rows) {
    assert.equal(formatGoDuration(ns), text, String(ns));
    assert.equal(parseGoDuration(text), ns, text);
  }
});
