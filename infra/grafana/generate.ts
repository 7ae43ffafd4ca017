// Writes the provisioned dashboard JSON from infra/grafana/dashboard.ts: `npm run dashboard`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../settings.ts';
import { buildDashboard } from './dashboard.ts';

const file = join(projectRoot, 'infra', 'grafana', 'dashboards', 'hotstate.json');
writeFileSync(file, `${JSON.stringify(buildDashboard(), null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
