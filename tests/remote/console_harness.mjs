// Runs sandbox/console/rh.js under Node for tests/remote/test_console.py.
// stdin: {"sid", "steps": [{"in": kioskEnvelope} | {"out": [type, body]}],
//         "patch": [old, patch]?}
// stdout: {"outs": [envelopes], "state": {rev, holder, scopes, view, results},
//          "audit": [records], "patched": object?, "resync": [seq…]}
import { webcrypto } from "node:crypto";
if (!globalThis.crypto) globalThis.crypto = webcrypto;
const rh = await import(process.argv[2]);

let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const s = new rh.Session(job.sid, () => 1764370000000);
const outs = [];
const resync = [];
for (const step of job.steps) {
  if (step.in) {
    if ((await s.receive(step.in)) === "resync") resync.push(step.in.seq);
  } else {
    outs.push(await s.envelope(step.out[0], step.out[1]));
  }
}
const result = {
  outs,
  resync,
  state: { rev: s.rev, holder: s.holder, scopes: s.scopes, view: s.view, results: s.results },
  audit: s.audit.records,
};
if (job.patch) result.patched = rh.applyPatch(job.patch[0], job.patch[1]);
process.stdout.write(JSON.stringify(result));
