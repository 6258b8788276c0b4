// The scf-local dashboard: plain JavaScript over /api/ and /api/events (server-sent events).
"use strict";

const $ = (selector) => document.querySelector(selector);
const MAX_ROWS = 200;
// This run's token, from the link `scf-local up` printed (#token=...): the API answers no one
// without it. Kept for this tab (a reload finds it) and taken out of the address bar.
const TOKEN = new URLSearchParams(location.hash.slice(1)).get("token") || sessionStorage.getItem("scf-local-token") || "";
if (location.hash) {
  sessionStorage.setItem("scf-local-token", TOKEN);
  history.replaceState(null, "", location.pathname + location.search);
}
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const POST_HEADERS = { ...AUTH, "X-SCF-Local": "dashboard" };  // the server refuses a POST without it
let selected = null;
let logSource = null;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function badge(state) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = `badge ${state}`;
  span.textContent = state;
  td.appendChild(span);
  return td;
}

async function getJSON(url, options) {
  const response = await fetch(url, options || { headers: AUTH });
  if (response.status === 401) showLocked();
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

function showLocked() {
  $("#locked").hidden = false;
  $("#live").textContent = "no token";
  $("#live").className = "badge failed";
}

async function loadRoutes() {
  const routes = await getJSON("/api/routes");
  const body = $("#routes tbody");
  body.replaceChildren();
  for (const r of routes) {
    const tr = document.createElement("tr");
    tr.dataset.container = r.container;
    tr.append(cell(r.pattern + (r.domain ? ` (${r.domain})` : "")), cell(r.container), cell(r.compute),
              cell(r.originId, "muted"), badge(r.state));
    body.appendChild(tr);
  }
}

function showContainers(containers) {
  const body = $("#containers tbody");
  body.replaceChildren();
  const select = $("#log-source");
  const known = new Set([...select.options].map((o) => o.value));
  for (const c of containers) {
    const tr = document.createElement("tr");
    tr.dataset.name = c.name;
    tr.dataset.state = c.state;
    const running = c.compute === "awsLambda"
      ? `${c.environments ?? 0} environment(s)${c.invokeMode ? ", " + c.invokeMode : ""}`
      : `${c.healthyTasks ?? 0}/${c.tasks ?? 0} task(s) healthy`;
    const reload = c.lastReload ? `${new Date(c.lastReload.time * 1000).toLocaleTimeString()} (${c.lastReload.ms} ms)` : "-";
    const restart = document.createElement("button");
    restart.textContent = "Restart";
    restart.className = "restart";
    restart.onclick = () => fetch(`/api/containers/${encodeURIComponent(c.name)}/restart`, { method: "POST", headers: POST_HEADERS });
    const actions = document.createElement("td");
    actions.appendChild(restart);
    tr.append(cell(c.name), cell(c.compute), badge(c.state), cell(running, "muted"), cell(reload, "muted"), actions);
    if (c.why) tr.title = c.why;
    body.appendChild(tr);
    if (!known.has(c.name)) {
      const option = document.createElement("option");
      option.value = option.textContent = c.name;
      select.appendChild(option);
    }
  }
  for (const tr of document.querySelectorAll("#routes tbody tr")) {
    const c = containers.find((x) => x.name === tr.dataset.container);
    if (c) tr.lastChild.replaceWith(badge(c.state));
  }
  if (!logSource && containers.length) selectLogs(containers[0].name);
}

function requestRow(r) {
  const tr = document.createElement("tr");
  tr.dataset.id = r.id;
  const path = cell(r.target, "path");
  path.title = r.target;
  const status = cell(r.status, `s${String(r.status)[0]}`);
  tr.append(cell(new Date(r.time * 1000).toLocaleTimeString()), cell(r.method), path, status,
            cell(r.container), cell(r.compute, "muted"), cell(r.duration_ms.toFixed(1)),
            cell(r.cold ? "cold" : "", "cold"), cell((r.request_id || "").slice(0, 8), "muted"));
  if (r.request_id) tr.lastChild.title = r.request_id;
  tr.onclick = () => showRequest(r.id);
  return tr;
}

function addRequest(r) {
  const body = $("#requests tbody");
  body.insertBefore(requestRow(r), body.firstChild);
  while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
}

async function loadRequests() {
  const requests = await getJSON("/api/requests");
  const body = $("#requests tbody");
  body.replaceChildren(...requests.map(requestRow));
}

async function showRequest(id) {
  selected = id;
  for (const tr of document.querySelectorAll("#requests tbody tr")) tr.classList.toggle("selected", tr.dataset.id == id);
  const r = await getJSON(`/api/requests/${id}`);
  $("#detail").hidden = false;
  $("#detail-title").textContent = `#${r.id} ${r.method} ${r.target} -> ${r.status}` + (r.request_id ? ` (${r.request_id})` : "");
  $("#detail-headers").textContent = (r.origin_headers || []).map(([n, v]) => `${n}: ${v}`).join("\n") || "(not sent to an origin)";
  $("#detail-lambda").hidden = r.compute !== "awsLambda";
  $("#detail-event").textContent = r.event || "";
  $("#detail-result").textContent = r.result || "";
  $("#replay").disabled = r.body_b64 === null;
  $("#replay").title = r.body_b64 === null ? "its body was not kept" : "send this request again";
  $("#replay-answer").textContent = "";
}

async function replay() {
  if (selected == null) return;
  $("#replay-answer").textContent = "...";
  try {
    const answer = await getJSON(`/api/requests/${selected}/replay`, { method: "POST", headers: POST_HEADERS });
    $("#replay-answer").textContent = `replayed: ${answer.status}`;
  } catch (error) {
    $("#replay-answer").textContent = String(error);
  }
}

async function selectLogs(name) {
  logSource = name;
  $("#log-source").value = name;
  const lines = await getJSON(`/api/containers/${encodeURIComponent(name)}/logs`);
  $("#logs").textContent = lines.map((l) => l.line).join("\n") + (lines.length ? "\n" : "");
  $("#logs").scrollTop = $("#logs").scrollHeight;
}

function appendLog(name, line) {
  if (name !== logSource) return;
  const logs = $("#logs");
  const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
  logs.textContent += line + "\n";
  if (atEnd) logs.scrollTop = logs.scrollHeight;
}

async function explain(event) {
  event.preventDefault();
  const url = $("#route-url").value.trim() || "/";
  try {
    const answer = await getJSON(`/api/route?url=${encodeURIComponent(url)}`);
    const lines = [
      answer.container ? `-> ${answer.container} (${answer.originType}, origin ${answer.originId})` : "-> no route: 404",
      `KVS key matched: ${answer.pattern ?? "none (default origin: the ALB)"}`,
    ];
    if (answer.albRule) lines.push(`ALB rule: ${answer.albRule}`);
    $("#route-answer").textContent = lines.join("\n") + "\n\n" + JSON.stringify(answer, null, 2);
  } catch (error) {
    $("#route-answer").textContent = String(error);
  }
}

function connect() {
  const events = new EventSource(`/api/events?token=${encodeURIComponent(TOKEN)}`);  // it sends no headers
  events.onopen = () => { $("#live").textContent = "live"; $("#live").className = "badge ready"; };
  events.onerror = () => { $("#live").textContent = "reconnecting"; $("#live").className = "badge unhealthy"; };
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "request") addRequest(event.request);
    else if (event.type === "containers") { showContainers(event.containers); }
    else if (event.type === "log") appendLog(event.container, event.line);
  };
}

async function loadIntegrations() {
  const rows = await getJSON("/api/integrations");
  const body = $("#integrations tbody");
  body.replaceChildren();
  for (const i of rows) {
    const tr = document.createElement("tr");
    const runsOn = i.type === "schedule" ? i.schedule : i.type === "awsEventBridge" ? JSON.stringify(i.pattern) : i.type;
    tr.append(cell(i.container), cell(`${i.integration} -> ${i.webhookPath}`), cell(runsOn, "muted"), cell(i.nextRun || ""));
    const actions = document.createElement("td");
    if (i.type === "schedule") {
      const fire = document.createElement("button");
      fire.textContent = "Trigger";
      fire.className = "trigger";
      const path = `/api/integrations/${encodeURIComponent(i.container)}/${encodeURIComponent(i.integration)}/trigger`;
      fire.onclick = async () => {
        const answer = await getJSON(path, { method: "POST", headers: POST_HEADERS });
        fire.textContent = `Trigger (${answer.status ?? "no answer"})`;
      };
      actions.appendChild(fire);
    }
    tr.appendChild(actions);
    body.appendChild(tr);
  }
}

async function putEvents(event) {
  event.preventDefault();
  let entries;
  try {
    entries = JSON.parse($("#events-entries").value);
  } catch (error) {
    $("#events-answer").textContent = `not JSON: ${error.message}`;
    return;
  }
  const answer = await getJSON("/api/put-events", {
    method: "POST", headers: { ...POST_HEADERS, "Content-Type": "application/json" },
    body: JSON.stringify({ Entries: Array.isArray(entries) ? entries : [entries] }),
  });
  $("#events-answer").textContent = JSON.stringify(answer, null, 2);
}

async function main() {
  const info = await getJSON("/api/info");
  $("#app").textContent = `${info.name} (stage ${info.stage})`;
  $("#app-url").href = $("#app-url").textContent = info.url;
  document.title = `scf-local: ${info.name}`;
  await loadRoutes();
  showContainers(await getJSON("/api/containers"));
  await loadRequests();
  $("#route-form").onsubmit = explain;
  $("#events-form").onsubmit = putEvents;
  await loadIntegrations();
  setInterval(loadIntegrations, 10000);  // next runs move on, a config reload can change them
  $("#replay").onclick = replay;
  $("#log-source").onchange = (e) => selectLogs(e.target.value);
  connect();
  setInterval(loadRoutes, 5000);  // a config reload can change them
}

main();
