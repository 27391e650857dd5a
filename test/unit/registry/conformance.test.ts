import { startTestRegistry } from '../../integration/registry/helpers.js';
import { runConformanceSuite } from '../../suites/registry-conformance.js';

runConformanceSuite('sqlite', () => startTestRegistry());
