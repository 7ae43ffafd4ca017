// The library's first import: on a Node.js older than hotstate needs, importing 'hotstate' throws one clear error.
import { HotstateError } from './errors.ts';
import { nodeVersionProblem } from './node-version.ts';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', problem);
