// A separate process that reads one key in a loop until its stdin closes, then prints the latencies (ms) as JSON:
// latency measured here is the service's, not the event loop of a benchmark busy with other clients.
//   node test/bench/key-reader.ts <url>
import { setTimeout as sleep } from 'node:timers/promises';

const url = process.argv[2] ?? '';
const latencies: number[] = [];
const state = { running: true };
process.stdin.on('end', () => {
  state.running = false;
});
process.stdin.resume();
while (state.running) {
  const began = performance.now();
  await (await fetch(url)).arrayBuffer();
  latencies.push(performance.now() - began);
  await sleep(5);
}
process.stdout.write(JSON.stringify(latencies));
