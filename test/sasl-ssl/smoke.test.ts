import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/smoke.test.ts');
