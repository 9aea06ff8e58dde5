// orch dashboard: the page. Vanilla JS, no build step, served under a strict CSP.
//
// Everything the server sends (names, reasons, log lines) is untrusted text: it reaches the DOM
// only through textContent / createTextNode / setAttribute, never innerHTML. The session cookie
// authenticates every request; the page never sees the token.
"use strict";

(() => {
  // ---------------------------------------------------------------------------------------------
  // Small helpers

  const $ = (id) => document.getElementById(id);

  /** An element with a class and text (both optional). */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  /** `fn`, run once in the next frame however often this is called before it: a burst of
   *  events costs one pass. */
  function nextFrame(fn) {
    let asked = false;
    return () => {
      if (asked) return;
      asked = true;
      requestAnimationFrame(() => {
        asked = false;
        fn();
      });
    };
  }

  /** Set text only when it changed: the table is updated every 2 s, mostly with the same words. */
  function setText(e, text) {
    const t = text == null ? "" : String(text);
    if (e.textContent !== t) e.textContent = t;
  }

  const TONES = {
    ok: ["ready", "running", "completed"],
    warn: ["starting", "pending", "stopping", "backoff", "blocked"],
    bad: ["failed", "crashed", "unhealthy", "exited", "fatal"],
    off: ["stopped"],
  };
  const TONE_OF = new Map(Object.entries(TONES).flatMap(([tone, states]) => states.map((s) => [s, tone])));
  const toneOf = (state) => TONE_OF.get(state) || "off";
  const TONE_RANK = { bad: 3, warn: 2, ok: 1, off: 0 };
  // A state shown without its reason: ps shows the reason only for the unhappy ones.
  const HAPPY = new Set(["ready", "running", "completed", "starting"]);
  // States in which the service has a process: only these have a pid and an uptime that ticks.
  const LIVE = new Set(["starting", "ready", "running", "stopping", "unhealthy"]);
  // What a service waits for (`db to be ready`, `it to stay up 1s`) matters only on its way up.
  const ON_THE_WAY_UP = new Set(["pending", "starting", "running"]);

  function fmtUptime(secs) {
    if (secs == null || !isFinite(secs) || secs < 0) return "";
    const s = Math.floor(secs);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
  }

  function fmtMem(bytes) {
    if (bytes == null) return "";
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
    if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
    return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  }

  const fmtCpu = (pct) => (pct == null ? "" : `${Number(pct).toFixed(1)}%`);
  const pad2 = (n) => (n < 10 ? "0" : "") + n;
  const fmtClock = (d) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;

  /** A time to come, as a person reads it: `18:20:00 (in 2m 40s)`; the text as sent if odd. */
  function fmtWhen(text) {
    const d = parseTime(text);
    if (!d) return String(text);
    const secs = Math.round((d - Date.now()) / 1000);
    const day = d.toDateString() === new Date().toDateString() ? "" : `${d.toLocaleDateString()} `;
    const rel = secs < 0 ? "due" : secs < 60 ? `in ${secs}s` : `in ${fmtUptime(secs)}`;
    return `${day}${fmtClock(d)} (${rel})`;
  }

  /** A log line's time: RFC 3339 with up to nanoseconds; Date wants at most milliseconds. */
  function parseTime(text) {
    if (!text) return null;
    const d = new Date(String(text).replace(/(\.\d{3})\d+/, "$1"));
    return isNaN(d) ? null : d;
  }

  /** One of eight prefix colours per service, stable across reloads. */
  function colourClass(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    return "c" + (Math.abs(h) % 8);
  }

  /** A class name made from a server word, or nothing if the word is not a plain one. */
  const safeClass = (prefix, word) => (/^[a-z][a-z0-9_-]*$/.test(word || "") ? prefix + word : null);

  /** Only http(s) links: a `javascript:` URL from a manifest must never become a live href. */
  function safeHttpUrl(text) {
    try {
      const u = new URL(text, location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Talking to the server

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function readError(res) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && typeof body.error === "string") msg = body.error;
    } catch {
      // Not JSON: the status line says enough.
    }
    if (res.status === 401 || res.status === 403) showAuthProblem(msg);
    return new HttpError(res.status, msg);
  }

  async function getJSON(url) {
    const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) throw await readError(res);
    return res.json();
  }

  async function postJSON(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (!res.ok) throw await readError(res);
    return res.json();
  }

  const serviceUrl = (name, action) => `/api/services/${encodeURIComponent(name)}/${action}`;

  // ---------------------------------------------------------------------------------------------
  // Header, banners and the status line

  const project = {
    manifest: new Set(), // manifest service names, groups unexpanded
    namesKey: "", // the row names joined: a change means new rows, a new graph
  };

  function showProject(p) {
    setText($("project"), p.name || "");
    setText($("root"), p.root || "");
    document.title = `${p.name || "project"} · orch`;
    project.manifest = new Set(Array.isArray(p.manifest_services) ? p.manifest_services : []);
  }

  function showNotes(notes) {
    const box = $("notes");
    const list = Array.isArray(notes) ? notes.map(String) : [];
    // Compare first: the same notes arrive every 2 s, and rebuilding would lose a text selection.
    const key = JSON.stringify(list);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren(...list.map((n) => el("div", "note", n)));
    box.hidden = list.length === 0;
  }

  let supervisorTimer = 0;
  let supervisorDown = false;
  /** The supervisor went away or came back. The stream says `running` each time it starts
   *  following one, the first time too: that is news only after it was gone. */
  function showSupervisor(running, said) {
    const box = $("supervisor");
    const back = running && supervisorDown;
    supervisorDown = !running;
    document.body.classList.toggle("stale", !running);
    if (running && !back) return;
    clearTimeout(supervisorTimer);
    box.className = "banner " + (running ? "ok" : "bad");
    setText(box, said || (running ? "the supervisor is back" : "the supervisor is not running"));
    box.hidden = false;
    // The good news needs no dismissing; the bad stays until the supervisor is back.
    if (running) supervisorTimer = setTimeout(() => (box.hidden = true), 8000);
  }

  function showAuthProblem(msg) {
    const box = $("supervisor");
    box.className = "banner bad";
    setText(box, `not signed in (${msg}): open the address that \`orch dashboard\` printed`);
    box.hidden = false;
  }

  function setConn(kind) {
    const c = $("conn");
    c.className = "conn " + kind;
    setText(c, { live: "live", connecting: "reconnecting…", down: "disconnected" }[kind] || kind);
  }

  /** The last action's outcome. `tone` is ok, bad or busy. */
  function setStatus(text, tone) {
    const s = $("status");
    s.className = "status " + (tone || "");
    setText(s, text);
    s.setAttribute("title", text);
  }

  // ---------------------------------------------------------------------------------------------
  // The services table: one <tr> per service, keyed by name and updated in place

  const rows = new Map(); // name -> { tr, cells, data, uptimeBase, uptimeAt, portKey }
  const ghosts = new Map(); // manifest service without rows (scaled to 0, or not started) -> tr

  const RE_REPLICA = /^(.+)\.(\d+)$/;
  /** A row's group: `web` for `web.2` when `web` is a manifest service; else none. */
  function groupOf(name) {
    const m = RE_REPLICA.exec(name);
    return m && project.manifest.has(m[1]) ? m[1] : null;
  }

  function actionButton(action, label) {
    const b = el("button", "act act-" + action, label);
    b.type = "button";
    b.setAttribute("data-action", action);
    b.dataset.label = label;
    return b;
  }

  /** The scale control of a group: a number and a button, for the group's first row. */
  function scaleControl(group) {
    const wrap = el("span", "scale");
    const input = el("input", "scale-count");
    input.type = "number";
    input.min = "0";
    input.max = "1000"; // orch's most replicas (MAX_SCALE); the server refuses more, saying so
    input.setAttribute("aria-label", `replicas of ${group}`);
    // Once the user typed a number, the 2-second refresh must not overwrite it.
    input.addEventListener("input", () => (input.dataset.dirty = "1"));
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") wrap.querySelector("button").click();
    });
    const b = actionButton("scale", "scale");
    b.dataset.group = group;
    wrap.append(input, b);
    return wrap;
  }

  function makeRow(name) {
    const tr = document.createElement("tr");
    tr.setAttribute("data-service", name);
    tr.tabIndex = 0; // rows are selectable from the keyboard as well
    const td = (cls) => tr.appendChild(el("td", cls));
    const nameCell = td("c-name");
    const cells = {
      name: nameCell.appendChild(el("span", "name", name)),
      tag: nameCell.appendChild(el("span", "tag")),
      reason: nameCell.appendChild(el("div", "reason")),
      details: nameCell.appendChild(el("div", "details")),
      state: td("c-state").appendChild(el("span", "state")),
      health: td("c-health").appendChild(el("span", "health")),
      pid: td("c-num c-pid").appendChild(el("span", "pid")),
      port: td("c-num c-port").appendChild(el("span", "port")),
      uptime: td("c-num c-uptime").appendChild(el("span", "uptime")),
      restarts: td("c-num c-restarts").appendChild(el("span", "restarts")),
      cpu: td("c-num c-cpu").appendChild(el("span", "cpu")),
      mem: td("c-num c-mem").appendChild(el("span", "mem")),
      scale: td("c-scale"),
      actions: td("c-actions"),
    };
    for (const action of ["restart", "stop", "start"]) cells.actions.appendChild(actionButton(action, action));
    return { tr, cells, data: null, uptimeBase: null, uptimeAt: 0, portKey: "" };
  }

  /** What ps prints under a row: last exit after restarts, next run, status, ad-hoc command. */
  function detailsOf(d) {
    const out = [];
    if (d.last_exit && LIVE.has(d.state) && d.restarts > 0) out.push(`last exit: ${d.last_exit}`);
    if (d.next_run) out.push(`next run: ${fmtWhen(d.next_run)}`);
    if (d.status) out.push(`status: ${d.status}`);
    if (d.command) out.push(`ad-hoc: ${d.command}`);
    if (d.adopted) out.push("adopted: started by an earlier supervisor");
    if (d.log_error) out.push(`log: ${d.log_error}`);
    if (d.log_dropped_bytes > 0) out.push(`log: ${d.log_dropped_bytes} bytes not written`);
    return out.join(" · ");
  }

  function setStateBadge(entry, st) {
    const badge = entry.cells.state;
    setText(badge, st);
    // What ps shows in its READY column, for a look on hover.
    const d = entry.data;
    let check = d && d.ready_check ? `ready check: ${d.ready_check}` : "";
    if (check && d.ready_after_ms != null) check += ` (passed in ${d.ready_after_ms}ms)`;
    if (badge.getAttribute("title") !== check) badge.setAttribute("title", check);
    const cls = ["state", "tone-" + toneOf(st), safeClass("state-", st)].filter(Boolean).join(" ");
    if (badge.className !== cls) badge.className = cls;
  }

  function setPort(entry, d) {
    const key = `${d.port ?? ""} ${d.url ?? ""}`;
    if (entry.portKey === key) return;
    entry.portKey = key;
    const cell = entry.cells.port;
    const href = d.url ? safeHttpUrl(d.url) : null;
    if (d.port != null && href) {
      const a = el("a", null, String(d.port));
      a.setAttribute("href", href);
      a.setAttribute("target", "_blank");
      a.setAttribute("rel", "noopener noreferrer");
      a.setAttribute("title", href);
      cell.replaceChildren(a);
    } else {
      cell.textContent = d.port == null ? "" : String(d.port);
    }
  }

  /** Write a row's data into its cells; only what changed touches the DOM. */
  function fillRow(entry, d) {
    entry.data = d;
    const c = entry.cells;
    setStateBadge(entry, d.state);
    // Why it is unhappy; or, while it starts, what it waits for.
    let reason = "";
    if (d.reason && !HAPPY.has(d.state)) reason = d.reason;
    else if (d.waiting && ON_THE_WAY_UP.has(d.state)) reason = `waiting for ${d.waiting}`;
    setText(c.reason, reason);
    setText(c.details, detailsOf(d));
    setText(c.tag, d.adhoc ? "ad-hoc" : "");
    setText(c.health, d.health || "");
    const hc = "health" + (d.health ? " " + (safeClass("h-", d.health) || "") : "");
    if (c.health.className !== hc) c.health.className = hc;
    setText(c.pid, d.pid == null ? "" : d.pid);
    setPort(entry, d);
    setText(c.restarts, d.restarts ?? 0);
    if (d.last_exit) c.restarts.setAttribute("title", `last exit: ${d.last_exit}`);
    setText(c.cpu, fmtCpu(d.cpu_percent));
    setText(c.mem, fmtMem(d.mem_bytes));
    entry.uptimeBase = d.uptime_secs == null ? null : Number(d.uptime_secs);
    entry.uptimeAt = performance.now();
    tickUptime(entry);
  }

  function tickUptime(entry) {
    const secs = entry.uptimeBase == null ? null : entry.uptimeBase + (performance.now() - entry.uptimeAt) / 1000;
    setText(entry.cells.uptime, fmtUptime(secs));
  }

  /** Put the group's scale control on its first row only, and keep its number current. */
  function placeScaleControls(list) {
    const counts = new Map();
    const first = new Map();
    for (const d of list) {
      const g = groupOf(d.name);
      if (!g) continue;
      counts.set(g, (counts.get(g) || 0) + 1);
      if (!first.has(g)) first.set(g, d.name);
    }
    for (const [name, entry] of rows) {
      const g = groupOf(name);
      const want = g && first.get(g) === name ? g : null;
      let ctl = entry.cells.scale.querySelector(".scale");
      if (ctl && ctl.querySelector("button").dataset.group !== want) {
        ctl.remove();
        ctl = null;
      }
      if (want && !ctl) ctl = entry.cells.scale.appendChild(scaleControl(want));
      if (ctl) syncScaleInput(ctl, counts.get(want));
    }
  }

  function syncScaleInput(ctl, count) {
    const input = ctl.querySelector("input");
    if (input.dataset.dirty || document.activeElement === input) return;
    if (input.value !== String(count)) input.value = String(count);
  }

  /** A manifest service with no row at all (scaled to 0, or left out by a profile): so it can
   *  still be started or scaled back up. */
  function placeGhosts(list) {
    const covered = new Set();
    for (const d of list) covered.add(groupOf(d.name) || d.name);
    const tbody = $("services");
    for (const [g, tr] of ghosts) {
      if (covered.has(g) || !project.manifest.has(g)) {
        tr.remove();
        ghosts.delete(g);
      }
    }
    for (const g of project.manifest) {
      if (covered.has(g)) continue;
      let tr = ghosts.get(g);
      if (!tr) {
        tr = el("tr", "ghost");
        tr.setAttribute("data-group", g);
        const nameCell = tr.appendChild(el("td", "c-name"));
        nameCell.append(el("span", "gname", g), el("div", "reason", "no process: not started, or scaled to 0"));
        tr.appendChild(el("td", "c-state")).appendChild(el("span", "state tone-off", "—"));
        for (let i = 0; i < 7; i++) tr.appendChild(el("td"));
        const ctl = tr.appendChild(el("td", "c-scale")).appendChild(scaleControl(g));
        syncScaleInput(ctl, 0);
        const start = actionButton("start", "start");
        start.dataset.target = g;
        tr.appendChild(el("td", "c-actions")).append(start);
        ghosts.set(g, tr);
      }
      placeGhost(tbody, tr, g);
    }
  }

  /** A ghost row goes where the manifest has its service, among the real rows; it is moved only
   *  when out of place (moving it would take the focus from its number box). */
  function placeGhost(tbody, tr, group) {
    const order = [...project.manifest];
    const at = order.indexOf(group);
    const rank = (name) => {
      const i = order.indexOf(groupOf(name) || name);
      return i < 0 ? Infinity : i;
    };
    let before = null;
    for (const child of tbody.children) {
      if (!child.classList.contains("ghost") && rank(child.getAttribute("data-service")) > at) {
        before = child;
        break;
      }
    }
    if (tr.parentNode !== tbody || nextRealRow(tr) !== before) tbody.insertBefore(tr, before);
  }

  function nextRealRow(tr) {
    let next = tr.nextElementSibling;
    while (next && next.classList.contains("ghost")) next = next.nextElementSibling;
    return next;
  }

  /** A fresh listing: update rows in place, add new ones, drop gone ones, keep the server's order. */
  function showServices(list) {
    if (!Array.isArray(list)) return;
    const tbody = $("services");
    const seen = new Set();
    let prev = null;
    for (const d of list) {
      if (!d || typeof d.name !== "string") continue;
      seen.add(d.name);
      let entry = rows.get(d.name);
      if (!entry) {
        entry = makeRow(d.name);
        rows.set(d.name, entry);
        if (d.name === view.service) entry.tr.classList.add("selected");
      }
      fillRow(entry, d);
      // The server's order among the real rows; ghost rows keep their places between them.
      let want = prev ? prev.nextElementSibling : tbody.firstElementChild;
      while (want && want.classList.contains("ghost") && want !== entry.tr) want = want.nextElementSibling;
      if (want !== entry.tr) tbody.insertBefore(entry.tr, want);
      prev = entry.tr;
    }
    for (const [name, entry] of rows) {
      if (!seen.has(name)) {
        entry.tr.remove();
        rows.delete(name);
      }
    }
    placeScaleControls(list);
    placeGhosts(list);
    // The replicas column only where there is something to scale.
    const table = tbody.closest("table");
    table.classList.toggle("has-groups", !!tbody.querySelector(".scale"));
    showSummary();
    const key = [...rows.keys()].join("\n");
    if (key !== project.namesKey) {
      const first = project.namesKey === "";
      project.namesKey = key;
      updateViewChoices();
      // New or gone services: the manifest changed (or a scale), so its graph and groups did.
      if (!first) refreshProjectSoon();
      loadGraph();
    }
    colourGraphSoon();
  }

  function showSummary() {
    let up = 0;
    let bad = 0;
    for (const { data } of rows.values()) {
      const t = toneOf(data.state);
      if (t === "ok") up++;
      if (t === "bad") bad++;
    }
    const parts = [`${rows.size}`, `${up} up`];
    if (bad) parts.push(`${bad} failing`);
    setText($("summary"), parts.join(" · "));
  }

  /** A state change, before the listing that follows it: show the new state at once. */
  function applyPhase(ev) {
    const entry = rows.get(ev.service);
    if (!entry || typeof ev.phase !== "string") return;
    const d = { ...entry.data, state: ev.phase };
    if (ev.pid != null) d.pid = ev.pid;
    if (ev.reason != null) d.reason = ev.reason;
    d.waiting = typeof ev.waiting === "string" ? ev.waiting : null;
    if (!LIVE.has(ev.phase)) {
      d.pid = null;
      d.uptime_secs = null;
      d.cpu_percent = null;
      d.mem_bytes = null;
    } else if (ev.phase === "starting" && ev.pid != null && ev.pid !== entry.data.pid) {
      d.uptime_secs = 0; // a new process
      d.ready_after_ms = null;
    }
    fillRow(entry, d);
    showSummary();
    colourGraphSoon();
  }

  setInterval(() => {
    for (const entry of rows.values()) if (entry.uptimeBase != null) tickUptime(entry);
  }, 1000);

  // Actions: the button says what is under way until the server answers (it waits for the
  // action to finish, which may take seconds), then the status line says how it went.
  const ING = { restart: "restarting…", stop: "stopping…", start: "starting…", scale: "scaling…" };

  async function runAction(button) {
    const action = button.getAttribute("data-action");
    const tr = button.closest("tr");
    let name = button.dataset.target || (tr && tr.getAttribute("data-service"));
    let body = {};
    if (action === "scale") {
      name = button.dataset.group;
      const count = Number(button.parentElement.querySelector("input").value);
      if (!Number.isInteger(count) || count < 0) {
        setStatus(`scale ${name}: give a whole number of replicas`, "bad");
        return;
      }
      body = { count };
    }
    if (!name) return;
    button.disabled = true;
    button.classList.add("busy");
    button.textContent = ING[action] || "…";
    setStatus(`${action} ${name}…`, "busy");
    try {
      const res = await postJSON(serviceUrl(name, action), body);
      const fallback = `${action} ${name}: ${res.ok === false ? "failed" : "done"}`;
      const said = typeof res.said === "string" && res.said ? res.said : fallback;
      setStatus(said, res.ok === false ? "bad" : "ok");
    } catch (e) {
      setStatus(`${action} ${name}: ${e.message}`, "bad");
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
      button.textContent = button.dataset.label;
      if (action === "scale") delete button.parentElement.querySelector("input").dataset.dirty;
    }
  }

  function onTableClick(ev) {
    const button = ev.target.closest("button[data-action]");
    if (button) {
      runAction(button);
      return;
    }
    if (ev.target.closest("a, input, button")) return;
    const tr = ev.target.closest("tr[data-service]");
    if (tr) openView(tr.getAttribute("data-service"));
  }

  function onTableKey(ev) {
    if (ev.target.matches("tr[data-service]") && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      openView(ev.target.getAttribute("data-service"));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The dependency graph: the server's SVG, nodes coloured by their service's state

  let graphGen = 0;
  async function loadGraph() {
    const gen = ++graphGen;
    const box = $("graph");
    try {
      const res = await fetch("/api/graph.svg", { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) throw await readError(res);
      const text = await res.text();
      if (gen !== graphGen) return; // a newer request is on its way
      const doc = new DOMParser().parseFromString(text, "image/svg+xml");
      const root = doc.documentElement;
      if (root.nodeName !== "svg" || doc.querySelector("parsererror")) throw new Error("not an SVG");
      const svg = document.importNode(root, true);
      box.replaceChildren(svg);
      fitGraph(svg);
      colourGraph();
    } catch (e) {
      if (gen === graphGen) box.replaceChildren(el("div", "muted", `no graph: ${e.message}`));
    }
  }

  /** Size the panel to the drawing, within limits, and shrink the drawing a little at most:
   *  a graph scaled to fit a narrow panel would have unreadable names; it scrolls instead. */
  function fitGraph(svg) {
    const vb = svg.viewBox && svg.viewBox.baseVal;
    const natural = parseFloat(svg.getAttribute("width")) || (vb && vb.width) || 0;
    if (!natural) return;
    const panel = $("graph-panel");
    const width = Math.max(280, Math.min(natural + 20, window.innerWidth * 0.36));
    panel.style.setProperty("--graph-width", `${Math.round(width)}px`);
    svg.style.width = `${Math.round(Math.max(natural * 0.8, Math.min(natural, width - 20)))}px`;
  }

  /** A node's tone: its service's, or for a scaled group the worst of its replicas'. */
  function nodeState(name) {
    const own = rows.get(name);
    if (own) return own.data.state;
    let worst = null;
    for (const [n, entry] of rows) {
      if (groupOf(n) !== name) continue;
      const s = entry.data.state;
      if (worst == null || TONE_RANK[toneOf(s)] > TONE_RANK[toneOf(worst)]) worst = s;
    }
    return worst;
  }

  const colourGraphSoon = nextFrame(() => colourGraph());

  function colourGraph() {
    for (const node of $("graph").querySelectorAll("g.node[data-service]")) {
      const name = node.getAttribute("data-service");
      const st = nodeState(name);
      const want = ["node", st ? "tone-" + toneOf(st) : "tone-none", st && safeClass("state-", st)];
      if (name === view.service || (view.service && groupOf(view.service) === name)) want.push("selected");
      const cls = want.filter(Boolean).join(" ");
      if (node.getAttribute("class") !== cls) node.setAttribute("class", cls);
      const title = st ? `${name}: ${st}` : name;
      let t = node.querySelector(":scope > title");
      if (!t) t = node.insertBefore(document.createElementNS("http://www.w3.org/2000/svg", "title"), node.firstChild);
      if (t.textContent !== title) t.textContent = title;
    }
  }

  function onGraphClick(ev) {
    const node = ev.target.closest("g.node[data-service]");
    if (!node) return;
    const name = node.getAttribute("data-service");
    if (rows.has(name)) return openView(name);
    const replica = [...rows.keys()].find((n) => groupOf(n) === name);
    if (replica) openView(replica);
  }

  // ---------------------------------------------------------------------------------------------
  // Logs: scroll-back from the files, then live lines, batched per animation frame

  const MAX_LINES = 5000; // in the DOM; "load older" may raise it for the view it loads into
  const PAGE = 500;
  // Lines sit in chunks of this many, each skipped by layout and paint while off screen
  // (content-visibility): a flood then costs about one chunk's work per frame, not 5000 lines'.
  const CHUNK = 100;

  const view = {
    service: null, // null: all services and orch's own lines
    q: "", // a search over the files (Enter), or "" for the plain tail
    limit: MAX_LINES,
    gen: 0, // bumped per load: an answer for an older view is ignored
    loading: false,
    held: [], // live lines that arrived while a load was under way
    dropped: 0, // lines the server said it did not send live, since the view was loaded
  };

  const logs = () => $("logs");
  let lineCount = 0; // lines in #logs
  let queue = []; // live lines waiting for the next frame
  let stick = true; // follow the end: true while the user is at the bottom
  let ownScrollTop = -1; // where the page itself last scrolled to: that scroll is not the user's
  let ownScrollHeight = -1; // and how tall the lines were then

  /** Whether a live line belongs in the view: the service's own, or an orch line about it. */
  function inView(line) {
    if (view.service == null) return true;
    if (line.service === view.service) return true;
    if (line.service !== "orch") return false;
    const t = line.text;
    const g = groupOf(view.service);
    return t.startsWith(view.service + ":") || (g != null && t.startsWith(g + ":"));
  }

  /** One log line's element: time, the service's name (shown in the all view), the text. */
  function lineEl(line, when) {
    const service = typeof line.service === "string" ? line.service : "?";
    const text = typeof line.text === "string" ? line.text : String(line.text ?? "");
    const orch = service === "orch";
    const div = el("div", "line" + (orch ? " orch" : "") + (line.stream === "err" ? " err" : ""));
    div.setAttribute("data-service", service);
    const ts = div.appendChild(el("span", "ts", when ? fmtClock(when) : ""));
    if (line.time) ts.setAttribute("title", line.time);
    div.appendChild(el("span", "svc " + (orch ? "corch" : colourClass(service)), service));
    // The server has stripped control sequences: what is left is text, and goes in as text.
    div.appendChild(el("span", "text", text));
    div.hay = (service + " " + text).toLowerCase(); // what the filter box matches
    return div;
  }

  // --- the filter box: hides lines client-side as you type

  let filter = "";
  const applyFilterSoon = nextFrame(() => {
    filter = $("search").value.trim().toLowerCase();
    // A static list: a live one (getElementsByClassName) is invalidated by every class change.
    for (const line of logs().querySelectorAll(".line")) line.classList.toggle("hidden", hiddenByFilter(line));
    if (stick) scrollToEnd();
    showLogInfo();
  });

  const hiddenByFilter = (line) => !!filter && !line.hay.includes(filter);

  // --- live lines

  function onLiveLine(line) {
    if (!line || typeof line.text !== "string" || !inView(line)) return;
    // Showing a search of the files: only what matches it, as the server matches (any case);
    // the rest would push the results out of the pane.
    if (view.q && !line.text.toLowerCase().includes(view.q.toLowerCase())) return;
    line.at = new Date();
    if (view.loading) {
      view.held.push(line);
      return;
    }
    queue.push(line);
    askFrame();
  }

  const askFrame = nextFrame(() => flush());

  /** Append what arrived since the last frame in one go: a flood of thousands of lines a second
   *  costs one layout per frame, and only the newest `limit` of a burst are ever built. */
  function flush() {
    if (queue.length === 0) return;
    // Scrolled up: what the reader reads stays put, and the newest `limit` lines wait.
    if (!stick) {
      if (queue.length > view.limit) queue = queue.slice(queue.length - view.limit);
      showFollow();
      return;
    }
    let batch = queue;
    queue = [];
    if (batch.length > view.limit) batch = batch.slice(batch.length - view.limit);
    appendLines(batch.map((line) => lineEl(line, line.at)));
    trim();
    scrollToEnd();
    showLogInfoSoon();
  }

  /** Add line elements at the end: into the last chunk while it has room, then new chunks. */
  function appendLines(elements) {
    const box = logs();
    let chunk = box.lastElementChild;
    let fresh = null; // new chunks are filled before they join the page
    for (const e of elements) {
      if (hiddenByFilter(e)) e.classList.add("hidden");
      if (!chunk || chunk.childElementCount >= CHUNK) {
        chunk = el("div", "chunk");
        (fresh ??= document.createDocumentFragment()).appendChild(chunk);
      }
      chunk.appendChild(e);
    }
    if (fresh) box.appendChild(fresh);
    lineCount += elements.length;
  }

  /** Keep at most `limit` lines, dropping the oldest at once: whole chunks, then the rest of
   *  the first. (Only at the end, following: a reader scrolled up is not appended to.) */
  function trim() {
    const box = logs();
    if (lineCount <= view.limit) return;
    while (box.firstElementChild && lineCount - box.firstElementChild.childElementCount >= view.limit) {
      lineCount -= box.firstElementChild.childElementCount;
      box.firstElementChild.remove();
    }
    const first = box.firstElementChild;
    const excess = lineCount - view.limit;
    if (first && excess > 0) {
      const r = document.createRange();
      r.setStartBefore(first.firstElementChild);
      r.setEndBefore(first.children[excess]);
      r.deleteContents();
      lineCount -= excess;
    }
  }

  function scrollToEnd() {
    const box = logs();
    box.scrollTop = box.scrollHeight;
    ownScrollTop = box.scrollTop;
    ownScrollHeight = box.scrollHeight;
  }

  /** Follow the end again once the reader is back at the bottom; stop once they leave it. */
  function onLogScroll() {
    const box = logs();
    if (box.scrollTop === ownScrollTop) return;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    if (stick && !atEnd && box.scrollHeight !== ownScrollHeight) {
      // Lines above changed height (a chunk laid out for the first time, and the browser kept
      // the view on what it showed): not the reader's doing, so stay at the end.
      scrollToEnd();
      return;
    }
    ownScrollTop = -1;
    if (atEnd !== stick) {
      stick = atEnd;
      if (stick) askFrame(); // what waited while they read
    }
    showFollow();
  }

  /** The wheel says what the reader wants before the scroll lands: up means stop following. */
  function onLogWheel(ev) {
    if (ev.deltaY >= 0 || !stick) return;
    stick = false;
    ownScrollTop = -1;
    showFollow();
  }

  function follow() {
    stick = true;
    scrollToEnd();
    showFollow();
    askFrame();
  }

  function showFollow() {
    const b = $("follow");
    b.hidden = stick;
    const n = queue.length;
    if (!stick) setText(b, n ? `↓ ${n >= view.limit ? `${n}+` : n} new` : "↓ follow");
  }

  // --- scroll-back from the files

  /** Replace the view's lines with the last `tail` lines from the files (matching `view.q`). */
  async function loadView(tail, { keepPosition = false } = {}) {
    const gen = ++view.gen;
    view.loading = true;
    view.held = [];
    queue = []; // lines queued for the old view are not this view's
    const params = new URLSearchParams({ tail: String(tail) });
    if (view.service != null) params.set("service", view.service);
    if (view.q) params.set("q", view.q);
    $("older").disabled = true;
    setText($("log-info"), "loading…");
    let lines = [];
    try {
      const body = await getJSON(`/api/logs?${params}`);
      lines = Array.isArray(body && body.lines) ? body.lines : [];
    } catch (e) {
      if (gen !== view.gen) return;
      setStatus(`logs: ${e.message}`, "bad");
    }
    if (gen !== view.gen) return;
    view.loading = false;
    // Fewer than asked: the files have no older lines (the button stays: they may yet, after a flood).
    const older = $("older");
    older.disabled = false;
    older.classList.toggle("exhausted", lines.length < tail);
    const title = lines.length < tail ? "the log files have no older lines" : "load 500 older lines from the log files";
    older.setAttribute("title", title);
    renderLoaded(lines, keepPosition);
    // Live lines that came during the load: the files may have had the first of them already.
    const held = view.held;
    view.held = [];
    queue.push(...held.slice(overlap(lines, held)));
    askFrame();
  }

  /** How many of `held` (live lines, oldest first) are the last lines of `loaded` too. */
  function overlap(loaded, held) {
    const same = (a, b) => a.service === b.service && a.text === b.text;
    for (let k = Math.min(loaded.length, held.length); k > 0; k--) {
      let ok = true;
      for (let i = 0; i < k && ok; i++) ok = same(loaded[loaded.length - k + i], held[i]);
      if (ok) return k;
    }
    return 0;
  }

  function renderLoaded(lines, keepPosition) {
    const box = logs();
    const fromEnd = box.scrollHeight - box.scrollTop; // to keep the reader's place after "older"
    const shown = lines.length > view.limit ? lines.slice(lines.length - view.limit) : lines;
    box.replaceChildren();
    lineCount = 0;
    appendLines(shown.map((line) => lineEl(line, parseTime(line.time))));
    if (keepPosition && !stick) box.scrollTop = box.scrollHeight - fromEnd;
    else {
      stick = true;
      scrollToEnd();
    }
    showFollow();
    showLogInfo();
  }

  /** Show another service's logs (null: all): its scroll-back first, then its live lines. */
  function openView(service) {
    if (service === view.service && !view.q) return;
    if (view.service != null) rows.get(view.service)?.tr.classList.remove("selected");
    view.service = service;
    view.q = "";
    view.limit = MAX_LINES;
    if (service != null) rows.get(service)?.tr.classList.add("selected");
    const pick = $("log-view");
    if (pick.value !== (service ?? "")) pick.value = service ?? "";
    logs().classList.toggle("all", service == null);
    clearDropped();
    colourGraphSoon();
    loadView(PAGE);
  }

  function loadOlder() {
    const have = lineCount;
    view.limit = Math.max(view.limit, have + PAGE);
    clearDropped();
    loadView(have + PAGE, { keepPosition: true });
  }

  /** Enter in the search box: search the files (q) rather than what is on the page. */
  function searchFiles() {
    view.q = $("search").value.trim();
    view.limit = MAX_LINES;
    clearDropped();
    loadView(PAGE);
  }

  // Under a flood the count changes every frame: say it a few times a second at most.
  let infoTimer = 0;
  function showLogInfoSoon() {
    if (!infoTimer) infoTimer = setTimeout(() => ((infoTimer = 0), showLogInfo()), 250);
  }

  function showLogInfo() {
    const box = logs();
    const n = lineCount;
    let text = `${n} line${n === 1 ? "" : "s"}`;
    if (filter) text = `${box.querySelectorAll(".line:not(.hidden)").length} of ${n} lines`;
    if (view.q) text += ` · files searched for “${view.q}” (Esc: back)`;
    setText($("log-info"), text);
  }

  function updateViewChoices() {
    const pick = $("log-view");
    const opts = [el("option", null, "all services")];
    opts[0].value = "";
    for (const name of rows.keys()) {
      const o = el("option", null, name);
      o.value = name;
      opts.push(o);
    }
    pick.replaceChildren(...opts);
    pick.value = view.service ?? "";
  }

  // --- lines the server could not send live

  function onDropped(n) {
    if (!(n > 0)) return;
    view.dropped += n;
    setText($("dropped-text"), `… ${view.dropped} lines not shown live (the log files have them: `);
    $("dropped").hidden = false;
  }

  function clearDropped() {
    view.dropped = 0;
    $("dropped").hidden = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Live updates

  let refreshAsked = 0;
  function refreshProjectSoon() {
    clearTimeout(refreshAsked);
    refreshAsked = setTimeout(refreshProject, 300);
  }

  async function refreshProject() {
    try {
      const p = await getJSON("/api/project");
      showProject(p);
      showNotes(p.notes);
      showServices(p.services);
    } catch (e) {
      setStatus(`project: ${e.message}`, "bad");
    }
  }

  /** Parse an event's data; a malformed one is skipped rather than stopping the stream. */
  function data(ev) {
    try {
      return JSON.parse(ev.data);
    } catch {
      return null;
    }
  }

  let source = null;
  let broken = false;
  function connect() {
    source = new EventSource("/api/events");
    source.addEventListener("open", () => {
      setConn("live");
      // After an outage: what changed meanwhile is not in the stream, so ask again.
      if (broken) {
        broken = false;
        refreshProject();
        loadView(Math.max(PAGE, Math.min(lineCount, view.limit)));
      }
    });
    source.addEventListener("error", () => {
      broken = true;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a non-200 answer): keep trying, slowly.
        setConn("down");
        source = null;
        setTimeout(connect, 3000);
      } else {
        setConn("connecting");
      }
    });
    source.addEventListener("services", (ev) => {
      const d = data(ev);
      if (!d) return;
      showServices(d.services);
      if (d.notes) showNotes(d.notes);
    });
    source.addEventListener("phase", (ev) => {
      const d = data(ev);
      if (d) applyPhase(d);
    });
    source.addEventListener("line", (ev) => {
      const d = data(ev);
      if (d) onLiveLine(d);
    });
    source.addEventListener("dropped", (ev) => {
      const d = data(ev);
      if (d) onDropped(Number(d.lines));
    });
    source.addEventListener("supervisor", (ev) => {
      const d = data(ev);
      if (!d) return;
      const wasDown = supervisorDown;
      showSupervisor(!!d.running, typeof d.said === "string" ? d.said : "");
      if (d.running && wasDown) {
        refreshProject();
        loadView(Math.max(PAGE, Math.min(lineCount, view.limit)));
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  function wire() {
    $("services").addEventListener("click", onTableClick);
    $("services").addEventListener("keydown", onTableKey);
    $("graph").addEventListener("click", onGraphClick);
    $("log-view").addEventListener("change", (ev) => openView(ev.target.value || null));
    logs().addEventListener("scroll", onLogScroll, { passive: true });
    logs().addEventListener("wheel", onLogWheel, { passive: true });
    // A pane made shorter (a banner came) would hide the last lines: stay at the end.
    new ResizeObserver(() => stick && scrollToEnd()).observe(logs());
    $("follow").addEventListener("click", follow);
    const search = $("search");
    search.addEventListener("input", () => {
      applyFilterSoon();
      if (search.value === "" && view.q) searchFiles(); // cleared: back to the plain tail
    });
    search.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") searchFiles();
      if (ev.key === "Escape" && (search.value || view.q)) {
        search.value = "";
        applyFilterSoon();
        if (view.q) searchFiles();
      }
    });
    $("older").addEventListener("click", loadOlder);
    $("dropped-load").addEventListener("click", () => loadView(Math.max(PAGE, lineCount)));
  }

  async function start() {
    // The token came in the address only to set the cookie: keep it out of the address bar,
    // the history and anything copied from it.
    if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", location.pathname);
    wire();
    connect(); // first, so no line between the scroll-back and the stream is lost
    await refreshProject();
    loadView(PAGE);
  }

  start();
})();
