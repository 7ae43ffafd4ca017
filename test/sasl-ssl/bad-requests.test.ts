import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('e2e/bad-requests.test.ts');
