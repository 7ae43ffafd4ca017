// The schema registry's HTTPS + basic-auth front for the secured local cluster: Apicurio stays on a loopback
// plaintext port, clients reach it only through here. Users are the secured cluster's principals (their password
// files), compared in constant time; a wrong or missing credential is 401 with a WWW-Authenticate challenge.
//   node infra/registry-front.ts <port> <backend-port> <secure-dir> <marker>
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { secureUsers } from './secure-cluster.ts';

const [portText, backendText, dirArgument] = process.argv.slice(2);
if (portText === undefined || backendText === undefined || dirArgument === undefined)
  throw new Error('usage: registry-front.ts <port> <backend-port> <secure-dir>');
const dir: string = dirArgument;
const users: readonly string[] = secureUsers;

function authorized(header: string | undefined): boolean {
  const match = /^Basic (.+)$/.exec(header ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  const user = decoded.slice(0, at);
  if (at < 0 || !users.includes(user)) return false;
  const given = Buffer.from(decoded.slice(at + 1));
  const expected = Buffer.from(readFileSync(join(dir, `${user}.password`), 'utf8').trim()); // read each time: rotation
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer(
  { cert: readFileSync(join(dir, 'server.pem')), key: readFileSync(join(dir, 'server.key')) },
  (req, res) => {
    if (!authorized(req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="hotstate registry"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 401, message: 'authentication required' }));
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const upstream = request(
      { host: '127.0.0.1', port: Number(backendText), method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 502, message: `registry backend: ${error.message}` }));
    });
    req.pipe(upstream);
  },
);
server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`registry front on https://127.0.0.1:${portText} -> 127.0.0.1:${backendText}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => {
    server.close(() => process.exit(0));
  });
