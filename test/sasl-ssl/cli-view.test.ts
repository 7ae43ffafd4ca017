import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/cli-view.test.ts');
