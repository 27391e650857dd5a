import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';

/**
 * The docker CLI's check of `save -o` / `export -o` (cli/command/utils.go ValidateOutputPath), in its words: the
 * file's directory must exist and be a directory. The CLI's own error, found before the engine does anything.
 * `what`: "save image", "export container".
 */
export async function validateOutputPath(file: string, what: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const st = await fsp.stat(dir).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'no such file or directory' : err.message;
    throw new WharfError('INVALID_ARGUMENT', `failed to ${what}: invalid output path: stat ${dir}: ${why}`);
  });
  if (!st.isDirectory())
    throw new WharfError('INVALID_ARGUMENT', `failed to ${what}: invalid output path: ${dir} is not a directory`);
}
