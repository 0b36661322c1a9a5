// rh/1 for the assistant console: envelopes, the mirror of the kiosk's masked step, and the
// console's hash-chained audit log. Pure (no DOM, no sockets): the browser page and the
// Node-based tests import the same module. Wire formats: docs/remote-help.md and
// kiosk/remote/envelope.py, kiosk/remote/masking.py, kiosk/remote/audit.py (the Python
// originals; record hashes here must equal Python's record_hash for reconcile/verify).

export const VERSION = "rh/1";
export const GENESIS = "0".repeat(64);

// Canonical JSON as Python's json.dumps(sort_keys=True, separators=(",", ":"),
// ensure_ascii=False). Numbers must be integers here (Python writes 2.0, JS writes 2).
export function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  const keys = Object.keys(value).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
}

async function sha256hex(text) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function recordHash(record) {
  const { hash: _ignored, ...rest } = record;
  return sha256hex(canonical(rest));
}

export class AuditChain {
  constructor() {
    this.records = [];
  }
  get head() {
    return this.records.length ? this.records[this.records.length - 1].hash : GENESIS;
  }
  async append(ts, sid, actor, event, data) {
    const record = { i: this.records.length, ts: Math.trunc(ts), sid, actor, event, data,
                     prev: this.head };
    record.hash = await recordHash(record);
    this.records.push(record);
    return record;
  }
}

// The kiosk's step as the console sees it: a snapshot, then patches (kiosk/remote/masking.py).
export function applyPatch(old, patch) {
  const out = structuredClone(old);
  for (const [k, v] of Object.entries(patch.set || {})) {
    if (v === null && k !== "prompt" && k !== "error") delete out[k];
    else out[k] = v;
  }
  out.fields = out.fields || {};
  for (const [k, v] of Object.entries(patch.fields || {})) {
    if (v === null) delete out.fields[k];
    else out.fields[k] = v;
  }
  return out;
}

// One help session seen from the console: numbers its messages, follows the kiosk's rev,
// keeps the mirror and the consent/control state, and logs intents in its chain.
export class Session {
  constructor(sid, now = () => Date.now()) {
    this.sid = sid;
    this.now = now;
    this.seq = 0;
    this.rev = 0;
    this.lastKioskSeq = 0;
    this.view = null;
    this.holder = "citizen";
    this.scopes = [];
    this.results = {};
    this.documents = {}; // doc_id → {result: delivered|refused, reason} from the kiosk
    this.audit = new AuditChain();
  }

  async envelope(type, body = {}) {
    this.seq += 1;
    const env = { v: VERSION, sid: this.sid, from: "assistant", seq: this.seq,
                  id: `a-${this.sid.slice(-6)}-${this.seq}`, type, body };
    if (type.startsWith("intent.")) {
      env.base_rev = this.rev;
      await this.audit.append(this.now(), this.sid, "assistant", "intent.sent", { intent: env.id });
    } else if (type === "consent.request" || type === "control.release" || type === "end") {
      await this.audit.append(this.now(), this.sid, "assistant", type, {});
    }
    return env;
  }

  hello() {
    return this.envelope("hello", { last_seq: this.lastKioskSeq, last_rev: this.rev });
  }

  // Apply one kiosk envelope (already parsed); returns its type, or null when dropped.
  async receive(env) {
    if (env.v !== VERSION || env.sid !== this.sid || env.from !== "kiosk") return null;
    if (env.seq <= this.lastKioskSeq) return null;
    if (env.type === "patch" && (this.view === null || env.seq !== this.lastKioskSeq + 1)) {
      this.lastKioskSeq = env.seq;
      return "resync"; // a gap: ask for a fresh snapshot
    }
    this.lastKioskSeq = env.seq;
    if (typeof env.rev === "number") this.rev = env.rev;
    const b = env.body || {};
    if (env.type === "snapshot") this.view = b;
    else if (env.type === "patch") this.view = applyPatch(this.view, b);
    else if (env.type === "control.state") {
      this.holder = b.holder;
      this.scopes = b.scopes || [];
    } else if (env.type === "citizen.stop" || env.type === "consent.revoked") {
      if (env.type === "citizen.stop") this.scopes = [];
      else this.scopes = this.scopes.filter((s) => !(b.scopes || []).includes(s));
    } else if (env.type === "document.result") {
      this.documents[b.doc_id] = b;
    } else if (env.type === "intent.result") {
      this.results[b.ref] = b;
      await this.audit.append(this.now(), this.sid, "assistant", "intent.outcome",
                              { intent: b.ref, result: b.result });
    }
    return env.type;
  }
}
