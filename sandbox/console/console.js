// The assistant console page: login, queue and offers, the masked live view of the kiosk's
// step, consent and control state, field editing and navigation when granted, document push,
// notes, transfer, end. Talks to /assist/login and /ws/assistant (sandbox/assist.py); the
// rh/1 logic lives in rh.js. Video: the kiosk offers (media.offer), this page answers with
// its camera; kiosk envelopes arrive on the data channel once it is open, else the socket.
import { Session } from "./rh.js";

const $ = (id) => document.getElementById(id);
const SCOPE_NAMES = { fill: "代填", navigate: "翻页", document: "推送文档" };
const REASONS = { stale: "群众页面已变化，请重试", no_consent: "未获授权", citizen_only: "须由群众本人操作",
  unknown_field: "无此栏目", bad_value: "内容不合规", busy: "终端忙", ended: "协助已结束",
  not_connected: "未接通", bad_document: "文档信息有误" };
const DOC_REASONS = { hash_mismatch: "文件校验不符", too_large: "文件过大", bad_type: "文件类型不支持",
  not_found: "终端未找到文件", offline: "终端网络中断", failed: "终端取件失败" };
let token = null;
let ws = null;
let session = null;
let pc = null;
let iceServers = [];
window.rhSession = () => session; // for tests and the supervisor view

// Test and diagnostics helpers: decoded inbound video and audio, the centre pixel of the video.
window.inbound = async (kind = "video") => {
  if (!pc) return null;
  for (const r of (await pc.getStats()).values()) {
    if (r.type === "inbound-rtp" && r.kind === "audio" && kind === "audio") {
      return { packetsReceived: r.packetsReceived || 0, audioLevel: r.audioLevel || 0,
        totalAudioEnergy: r.totalAudioEnergy || 0 };
    }
    if (r.type === "inbound-rtp" && r.kind === "video" && kind === "video") {
      return { framesDecoded: r.framesDecoded || 0, w: r.frameWidth, h: r.frameHeight };
    }
  }
  return null;
};
window.centerPixel = () => {
  const v = $("remote-video");
  if (!v.videoWidth) return null;
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  return Array.from(g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data);
};

// What the kiosk's audio can do, from the direction of the audio in its offer (a device that
// did not open on the kiosk drops its half: kiosk/remote/audio.py audio_direction).
const KIOSK_AUDIO = { sendrecv: "终端话筒、扬声器正常", sendonly: "终端扬声器不可用（群众听不到您）",
  recvonly: "终端话筒不可用（您听不到群众）", inactive: "终端话筒、扬声器均不可用" };
function kioskAudio(sdp) {
  const m = sdp.split(/\r?\nm=/).find((s) => s.startsWith("audio"));
  const d = m && (m.match(/a=(sendrecv|sendonly|recvonly|inactive)/) || [])[1];
  return KIOSK_AUDIO[d || "inactive"];
}

async function onMediaOffer(sdp) {
  if (pc) pc.close();
  $("kiosk-audio").textContent = kioskAudio(sdp);
  pc = new RTCPeerConnection({ iceServers });
  pc.ontrack = (e) => {
    const el = e.track.kind === "audio" ? $("remote-audio") : $("remote-video");
    el.srcObject = new MediaStream([e.track]);
  };
  pc.ondatachannel = (e) => { e.channel.onmessage = (m) => handleRh(m.data); };
  await pc.setRemoteDescription({ type: "offer", sdp });
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: 640, height: 480, frameRate: 15 }, audio: true });
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => {
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
    });
  }
  await sendRh("media.answer", { sdp: pc.localDescription.sdp });
}

async function handleRh(text) {
  if (!session) return;
  const env = JSON.parse(text);
  const kind = await session.receive(env);
  if (kind === "resync") await sendRh("resync", {});
  if (kind === "media.offer") await onMediaOffer(env.body.sdp);
  if (kind === "document.result") {
    const b = env.body;
    $("doc-status").textContent = b.result === "delivered" ? "群众端已收到文档，校验通过"
      : "群众端未接收：" + (DOC_REASONS[b.reason] || b.reason);
  }
  render();
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}
async function sendRh(type, body) {
  if (!session) return;
  const env = await session.envelope(type, body);
  send({ type: "rh", data: JSON.stringify(env) });
}

$("login").onclick = async () => {
  const r = await fetch("/assist/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ assistant_id: $("aid").value, password: $("pw").value }) });
  if (!r.ok) { $("login-error").textContent = "工号或密码错误"; return; }
  const answer = await r.json();
  token = answer.token;
  const name = answer.name;
  $("who").textContent = `坐席 ${name}`;
  $("login-box").classList.add("hidden");
  $("desk").classList.remove("hidden");
  connect(token);
};

function connect(token) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/ws/assistant?token=${encodeURIComponent(token)}`);
  ws.onopen = () => { $("link").textContent = "已连接"; };
  ws.onclose = () => { $("link").textContent = "连接已断开"; };
  ws.onmessage = (e) => onPlatform(JSON.parse(e.data));
}

$("ready").onchange = () => send({ type: "ready", ready: $("ready").checked });

function taskLine(t) {
  const c = t.context || {};
  const item = c.item_name ? `${c.item_name}（${c.item_code}）` : (c.item_code || "-");
  return `${t.kiosk_id} · 事项 ${item} · 步骤 ${c.step_id || "-"} · 等待 ${Math.round(t.waited_s)} 秒 · 优先级 ${t.effective_priority}`;
}

async function onPlatform(m) {
  if (m.type === "queue") {
    $("queue").innerHTML = "";
    for (const t of m.tasks) {
      const d = document.createElement("div");
      d.className = "task";
      d.textContent = taskLine(t);
      $("queue").append(d);
    }
    if (!m.tasks.length) $("queue").innerHTML = "<p>暂无求助</p>";
  } else if (m.type === "offer") {
    const d = document.createElement("div");
    d.className = "task offer";
    d.textContent = "新求助：" + taskLine(m.task) + " ";
    const ok = document.createElement("button");
    ok.textContent = "接听";
    ok.onclick = () => { send({ type: "accept", task: m.task.id }); $("offer").innerHTML = ""; };
    const no = document.createElement("button");
    no.textContent = "拒接";
    no.onclick = () => { send({ type: "decline", task: m.task.id }); $("offer").innerHTML = ""; };
    d.append(ok, no);
    $("offer").replaceChildren(d);
  } else if (m.type === "offer_withdrawn") {
    $("offer").innerHTML = m.reason === "timeout" ? "<p>未及时接听，已转给其他坐席（当前为离开状态）</p>" : "";
    if (m.reason === "timeout") $("ready").checked = false;
  } else if (m.type === "session") {
    const t = m.turn || {};
    iceServers = t.urls && t.urls.length ? [{ urls: t.urls, username: t.username, credential: t.credential }] : [];
    session = new Session(m.task.id);
    $("sid").textContent = m.task.id;
    $("no-session").classList.add("hidden");
    $("in-session").classList.remove("hidden");
    await sendRh("hello", { last_seq: 0, last_rev: 0 });
    render();
  } else if (m.type === "session_ended") {
    if (pc) { pc.close(); pc = null; }
    session = null;
    $("sid").textContent = "";
    $("in-session").classList.add("hidden");
    $("no-session").classList.remove("hidden");
    $("no-session").innerHTML = `<p>协助已结束（${m.reason}）。</p>`;
  } else if (m.type === "rh") {
    await handleRh(m.data);
  }
}

function text(t) { return t ? t.zh_CN : ""; }

function render() {
  if (!session) return;
  $("holder").textContent = session.holder === "assistant" ? "坐席（已授权）" : "群众";
  $("scopes").textContent = session.scopes.map((s) => SCOPE_NAMES[s] || s).join("、") || "无";
  const v = session.view;
  if (!v) return;
  $("step-title").textContent = `${text(v.item_name)} · ${text(v.title)}`;
  $("step-meta").textContent = `第 ${v.progress[0]} / ${v.progress[1]} 步${v.busy ? " · 终端处理中" : ""}${v.error ? " · " + text(v.error) : ""}`;
  const canFill = session.scopes.includes("fill");
  $("fields").replaceChildren(...(v.field_order || []).map((id) => {
    const f = v.fields[id];
    const row = document.createElement("div");
    row.className = "field";
    const label = document.createElement("span");
    label.textContent = text(f.label) + (f.required ? " *" : "");
    const shown = document.createElement("span");
    if (f.masked) { shown.className = "masked"; shown.textContent = f.filled ? "●●●●●●（已填，不可见）" : "（未填）"; }
    else shown.textContent = f.display ?? "";
    const edit = document.createElement("span");
    if (f.editable && canFill) {
      const input = document.createElement("input");
      input.placeholder = f.masked ? "代填（提交后不可见）" : "代填";
      const go = document.createElement("button");
      go.textContent = "填入";
      go.onclick = () => sendRh("intent.field", { field: id, value: input.value });
      edit.append(input, go);
    }
    row.append(label, shown, edit);
    return row;
  }));
  const canNav = session.scopes.includes("navigate");
  $("nav").replaceChildren(...v.buttons.filter((b) => b.remote && canNav).map((b) => {
    const btn = document.createElement("button");
    btn.textContent = text(b.label);
    btn.disabled = !b.enabled;
    btn.onclick = () => sendRh("intent.navigate", { action: b.action });
    return btn;
  }));
  const last = Object.values(session.results).pop();
  $("last-result").textContent = last ? (last.result === "applied" ? "已执行" : "未执行：" + (REASONS[last.reason] || last.reason)) : "";
}

for (const b of document.querySelectorAll("[data-scope]")) {
  b.onclick = () => sendRh("consent.request", { scopes: [b.dataset.scope] });
}
$("release").onclick = () => sendRh("control.release", {});
// Push a document: upload it to the platform, then offer it to the kiosk by id and SHA-256
// (the kiosk fetches it itself and checks the hash; the file never travels in an envelope).
$("push").onclick = async () => {
  const file = $("doc-file").files[0];
  const title = $("doc-title").value.trim() || (file && file.name) || "";
  if (!session || !file || !title) { $("doc-status").textContent = "请选择文件并填写标题"; return; }
  const r = await fetch(`/assist/sessions/${encodeURIComponent(session.sid)}/documents?title=${encodeURIComponent(title)}`,
    { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": file.type }, body: file });
  if (!r.ok) { $("doc-status").textContent = "上传失败"; return; }
  const doc = await r.json();
  $("doc-status").textContent = `已上传「${doc.title}」，等待群众端接收…`;
  await sendRh("intent.document", { doc_id: doc.doc_id, sha256: doc.sha256, title: doc.title });
};
$("transfer").onclick = () => send({ type: "transfer", skill: $("transfer-skill").value });
$("save-note").onclick = async () => {
  if (session) await session.audit.append(Date.now(), session.sid, "assistant", "note", { length: $("notes").value.length });
};
$("end").onclick = async () => { await sendRh("end", { reason: "assistant_done" }); send({ type: "end" }); };
setInterval(() => { if (session) sendRh("heartbeat", {}); }, 5000);
