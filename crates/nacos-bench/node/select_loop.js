// The Node.js side of `nacos-bench select`: nacos-naming (npm) picks one healthy instance from
// its subscribed cache in a loop, the way a Node.js service would before each request.
//
// nacos-naming has no selectOneHealthyInstance: `selectInstances` (subscribe = true, so it
// answers from the cache after the first call) filters the healthy, enabled instances of
// weight above 0, and a weighted random pick over them follows, as the Java SDK's does.
//
// Usage: node select_loop.js SERVER_ADDR SERVICE SECONDS
// Prints one JSON line: {"picks": N, "seconds": S}.
'use strict';

const { NacosNamingClient } = require('nacos-naming');

const quiet = { info() {}, warn() {}, error() {}, debug() {}, log() {} };

function pickWeighted(hosts) {
  let total = 0;
  for (const h of hosts) total += h.weight;
  let point = Math.random() * total;
  for (const h of hosts) {
    if (point < h.weight) return h;
    point -= h.weight;
  }
  return hosts[hosts.length - 1];
}

async function main() {
  const [addr, service, seconds] = process.argv.slice(2);
  const client = new NacosNamingClient({ logger: quiet, serverList: addr, namespace: 'public' });
  await client.ready();
  // The first call subscribes and fills the cache; the loop answers from it.
  const first = await client.selectInstances(service, 'DEFAULT_GROUP', '', true, true);
  if (first.length === 0) throw new Error(`no healthy instance of ${service}`);
  const until = process.hrtime.bigint() + BigInt(Math.round(Number(seconds) * 1e9));
  const start = process.hrtime.bigint();
  let picks = 0;
  let now = start;
  let sink = 0;
  while (now < until) {
    for (let i = 0; i < 1024; i++) {
      const hosts = await client.selectInstances(service, 'DEFAULT_GROUP', '', true, true);
      sink += pickWeighted(hosts).port;
    }
    picks += 1024;
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - start) / 1e9;
  console.log(JSON.stringify({ picks, seconds: elapsed, sink }));
  client.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
