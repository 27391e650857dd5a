// The launcher's former name. Container monitors started by an earlier version recorded
// `node bin/wharf.mjs … container cleanup ID` as their after-exit command; this keeps that command working after an
// upgrade. New code runs bin/wharf.cjs (see there).
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./wharf.cjs');
