// The CLI's first import: on a Node.js older than hotstate needs, one line and exit 2 (before any other module runs).
import { nodeVersionProblem } from '../lib/node-version.ts';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`hotstate: HOTSTATE_ERR_CONFIG_INVALID: ${problem}\n`);
  process.exit(2);
}
