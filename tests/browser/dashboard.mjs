// `orch dashboard` in a real browser: a small project is brought up, the dashboard serves it,
// headless Chromium opens the printed URL, and the page must show the services, restart one
// from its button (a new pid, happy again, its new first line in the logs), and do all that
// without a page error, a console error or a Content-Security-Policy violation.
//
//   npm install --prefix target/browser --no-audit --no-fund playwright-core
//   node tests/browser/dashboard.mjs
//
// Environment: ORCH_BIN (default target/debug/orch), ORCH_SCREENSHOT (default
// target/browser/dashboard.png), CHROMIUM (default /usr/bin/chromium).
// Every wait is bounded; whatever happens, the browser, the dashboard and the project are
// stopped and the temporary folders removed.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const ORCH = process.env.ORCH_BIN ? path.resolve(process.env.ORCH_BIN) : path.join(REPO, "target/debug/orch");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.ORCH_SCREENSHOT
  ? path.resolve(process.env.ORCH_SCREENSHOT)
  : path.join(REPO, "target/browser/dashboard.png");

const WAIT_MS = 30_000; // any one thing the page should do
const URL_WAIT_MS = 20_000; // the dashboard printing its URL
const UP_TIMEOUT_MS = 90_000; // `orch up` / `orch down` as processes
const WATCHDOG_MS = 240_000; // the whole test
const POLL_MS = 100;
const HAPPY = ["ready", "running"];

const MANIFEST = `# Written by tests/browser/dashboard.mjs
[services.setup]
cmd = "mkdir -p public && echo '<h1>demo</h1>' > public/index.html && echo prepared"
oneshot = true

[services.api]
cmd = "python3 -u -m http.server $PORT --bind 127.0.0.1 --directory public"
depends_on = ["setup"]
port = "auto"
ready = { http = "http://127.0.0.1:\${PORT}/" }
ready_timeout = "20s"
stop_timeout = "3s"

[services.worker]
cmd = "echo worker started as $$; while true; do echo tick; sleep 1; done"
depends_on = ["api"]
stop_timeout = "3s"
`;

/** A failure with a message meant for the person reading CI's log. */
class Failure extends Error {}

const ok = (what) => console.log(`ok: ${what}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const redact = (text) => String(text).replace(/token=[^&\s"']+/g, "token=…");

// --- what is left to clean up, whatever happens ---------------------------------------------

const run = {
  temp: [], // folders to remove
  project: null, // where `orch up` ran: `orch down` there
  dashboard: null, // the `orch dashboard` child
  context: null, // the browser
  closing: false, // from here on, the page's errors are the teardown's, not the test's
};

function playwright() {
  const places = [path.join(REPO, "target/browser/package.json"), path.join(process.cwd(), "target/browser/package.json")];
  for (const place of places) {
    try {
      return createRequire(place)("playwright-core");
    } catch {
      // try the next place
    }
  }
  try {
    return createRequire(import.meta.url)("playwright-core"); // NODE_PATH, or a global install
  } catch {
    throw new Failure(
      "playwright-core is not installed: npm install --prefix target/browser --no-audit --no-fund playwright-core",
    );
  }
}

function tempDir(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `orch-browser-${label}-`));
  run.temp.push(dir);
  return dir;
}

/** The environment orch runs in: plain words, no colour. */
function orchEnv() {
  const env = { ...process.env, NO_COLOR: "1" };
  delete env.ORCH_PROFILES;
  return env;
}

/** Runs orch to its end, bounded. Its output goes to a file, not a pipe: a supervisor it leaves
 *  running in the background must not hold the pipe open and keep us waiting. */
function orch(args, cwd, logDir) {
  const log = path.join(logDir, `orch-${args.join("-")}.log`);
  const fd = fs.openSync(log, "w");
  let result;
  try {
    result = spawnSync(ORCH, args, { cwd, stdio: ["ignore", fd, fd], timeout: UP_TIMEOUT_MS, env: orchEnv() });
  } finally {
    fs.closeSync(fd);
  }
  const output = fs.readFileSync(log, "utf8");
  if (result.error) return { ok: false, why: `${result.error.message}`, output };
  if (result.status !== 0) return { ok: false, why: `exit ${result.status ?? result.signal}`, output };
  return { ok: true, output };
}

/** Polls `probe` until it returns something truthy (that is the result), failing after
 *  `timeoutMs` with what it last saw; and at once if the page has gone wrong. */
async function until(what, probe, { timeoutMs = WAIT_MS, problems = null } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (problems && problems.length) throw new Failure(`the page went wrong while waiting for ${what}:\n  ${problems.join("\n  ")}`);
    last = await probe();
    if (last && last.done !== false) return last;
    if (Date.now() > deadline) {
      const saw = last && last.saw !== undefined ? `; last saw: ${JSON.stringify(last.saw)}` : "";
      throw new Failure(`timed out after ${timeoutMs / 1000}s waiting for ${what}${saw}`);
    }
    await sleep(POLL_MS);
  }
}

// --- the steps ---------------------------------------------------------------------------------

function checkTools() {
  if (!fs.existsSync(ORCH)) throw new Failure(`no orch binary at ${ORCH} (cargo build, or set ORCH_BIN)`);
  if (!fs.existsSync(CHROMIUM)) throw new Failure(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
}

function bringUp(logDir) {
  // A folder of its own with a plain name: the page (and the screenshot) shows it as the title.
  const project = path.join(tempDir("project"), "demo");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "procs.toml"), MANIFEST);
  run.project = project;
  const up = orch(["up"], project, logDir);
  if (!up.ok) throw new Failure(`orch up failed (${up.why}):\n${up.output}`);
  ok(`orch up started setup, api and worker in ${project}`);
  return project;
}

/** Starts `orch dashboard --no-up` and reads the URL it prints (stdout; stderr is for people). */
async function startDashboard(project) {
  const child = spawn(ORCH, ["dashboard", "--no-up"], { cwd: project, stdio: ["ignore", "pipe", "pipe"], env: orchEnv() });
  run.dashboard = child;
  const said = { out: "", err: "" };
  child.stdout.setEncoding("utf8").on("data", (d) => (said.out += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (said.err += d));
  let spawnError = null;
  child.on("error", (e) => (spawnError = e));
  const url = await until(
    "the dashboard to print its URL",
    () => {
      if (spawnError) throw new Failure(`cannot run orch dashboard: ${spawnError.message}`);
      const m = /https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+\/\?token=[^\s"'<>]+/.exec(said.out);
      if (m) return m[0];
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Failure(`orch dashboard ended (${child.exitCode ?? child.signalCode}) before printing a URL:\n${said.out}${said.err}`);
      }
      return { done: false, saw: redact(said.out + said.err).slice(-300) };
    },
    { timeoutMs: URL_WAIT_MS },
  );
  ok(`orch dashboard (pid ${child.pid}) serves ${redact(url)}`);
  return { url, said };
}

/** Chromium with a fresh profile. (Playwright refuses --user-data-dir in launch()'s args: the
 *  persistent context is how a profile folder of our own is given.) */
async function openBrowser(chromium) {
  const profile = tempDir("profile");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-proxy-server",
    ],
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
    timeout: WAIT_MS,
  });
  run.context = context;
  context.setDefaultTimeout(WAIT_MS);
  // A CSP violation is also told to the page: make it a console error, which fails the test.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return context;
}

/** Everything that goes wrong in the page, as it happens. */
function watch(page, origin) {
  const problems = [];
  const add = (text) => {
    if (!run.closing) problems.push(redact(text));
  };
  // The browser asks for /favicon.ico by itself; the page has none, and that is no error of its.
  const favicon = (url) => /\/favicon\.ico(\?|$)/.test(url || "");
  page.on("pageerror", (e) => add(`page error: ${e.message}`));
  page.on("crash", () => add("the page crashed"));
  page.on("console", (m) => {
    const csp = /content.security.policy|CSP violation/i.test(m.text());
    if ((m.type() === "error" || csp) && !favicon(m.location().url)) add(`console ${m.type()}: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && r.url().startsWith(origin) && !favicon(r.url())) add(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on("requestfailed", (r) => {
    if (r.url().startsWith(origin) && !favicon(r.url())) add(`request failed: ${r.url()}: ${r.failure()?.errorText}`);
  });
  return problems;
}

/** A service's row as the page shows it, or null. */
function row(page, name) {
  return page.evaluate((n) => {
    const tr = document.querySelector(`#services tr[data-service="${CSS.escape(n)}"]`);
    if (!tr) return null;
    const text = (sel) => (tr.querySelector(sel)?.textContent ?? "").trim();
    return { state: text(".state"), pid: text(".pid"), reason: text(".reason"), name: text(".name") };
  }, name);
}

/** The texts of the log pane's lines (of one service, or all). */
function logLines(page, service) {
  return page.evaluate((s) => {
    const sel = s ? `#logs .line[data-service="${CSS.escape(s)}"]` : "#logs .line";
    return [...document.querySelectorAll(sel)].map((l) => ({ service: l.getAttribute("data-service"), orch: l.classList.contains("orch"), text: l.textContent }));
  }, service);
}

async function happyRow(page, name, problems, extra = () => true) {
  return until(
    `${name} to be ready or running in the table`,
    async () => {
      const r = await row(page, name);
      return r && HAPPY.includes(r.state) && /^\d+$/.test(r.pid) && extra(r) ? r : { done: false, saw: r };
    },
    { problems },
  );
}

async function testPage(context, url) {
  const origin = new URL(url).origin;
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watch(page, origin);

  const response = await page.goto(url, { waitUntil: "domcontentloaded" });
  if (!response || !response.ok()) throw new Failure(`the page answered ${response?.status()}`);
  const csp = response.headers()["content-security-policy"] || "";
  if (!csp.includes("default-src 'none'") || !csp.includes("script-src 'self'")) {
    throw new Failure(`the page came without its Content-Security-Policy (got "${csp}")`);
  }
  if (page.url().includes("token=")) throw new Failure("the token stayed in the address bar");
  ok("the page loaded with its CSP, and the token left the address bar");

  const api = await happyRow(page, "api", problems);
  const before = await happyRow(page, "worker", problems);
  ok(`the table shows api ${api.state} (pid ${api.pid}) and worker ${before.state} (pid ${before.pid})`);

  await until(
    "api's port to be a link to where it serves",
    () => page.evaluate(() => !!document.querySelector('#services tr[data-service="api"] .port a[href^="http://127.0.0.1:"][rel~="noopener"]')),
    { problems },
  );
  await until(
    "the graph to show the services, coloured by state",
    () =>
      page.evaluate(() => {
        const nodes = [...document.querySelectorAll('#graph g.node[data-service]')];
        const names = nodes.map((n) => n.getAttribute("data-service"));
        const coloured = nodes.every((n) => /\bstate-[a-z]+/.test(n.getAttribute("class") || ""));
        const all = ["setup", "api", "worker"].every((n) => names.includes(n));
        return all && coloured ? true : { done: false, saw: names };
      }),
    { problems },
  );
  ok("api's port links to it; the graph shows setup, api and worker, coloured");

  await page.locator('#services tr[data-service="worker"] button[data-action="restart"]').click();
  const after = await happyRow(page, "worker", problems, (r) => r.pid !== before.pid);
  ok(`restart from the page: worker is ${after.state} again with pid ${after.pid} (was ${before.pid})`);

  const status = await until(
    "the status line to say how the restart went",
    async () => {
      const s = await page.evaluate(() => ({ text: document.querySelector("#status")?.textContent ?? "", busy: document.querySelector("#status")?.classList.contains("busy") }));
      return !s.busy && s.text.includes("worker") ? s.text : { done: false, saw: s };
    },
    { problems },
  );
  ok(`the status line says: ${status}`);

  const started = `worker started as ${after.pid}`;
  await until(
    `"${started}" in the log pane (all services)`,
    async () => {
      const lines = await logLines(page, "worker");
      return lines.some((l) => l.text.includes(started)) ? true : { done: false, saw: lines.slice(-3).map((l) => l.text) };
    },
    { problems },
  );
  ok(`the log pane shows "${started}" live`);

  // The worker's own view: its scroll-back comes from the log files, and holds only its lines
  // (and orch's about it).
  await page.locator('#services tr[data-service="worker"] .name').click();
  await until(
    `worker's own log view, with "${started}"`,
    async () => {
      const lines = await logLines(page);
      const foreign = lines.filter((l) => l.service !== "worker" && !l.orch);
      if (foreign.length) return { done: false, saw: foreign.slice(0, 3) };
      return lines.some((l) => l.text.includes(started)) ? true : { done: false, saw: lines.slice(-3).map((l) => l.text) };
    },
    { problems },
  );
  ok("selecting worker shows its lines only, from the files and live");

  // Back to every service, for the picture.
  await page.selectOption("#log-view", "");
  await until(
    "lines of both services in the all view",
    async () => {
      const lines = await logLines(page);
      const services = new Set(lines.map((l) => l.service));
      return services.has("api") && services.has("worker") ? true : { done: false, saw: [...services] };
    },
    { problems },
  );
  await page.mouse.move(1, 1); // no hover highlight in the picture
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  const shown = path.relative(process.cwd(), SCREENSHOT);
  ok(`screenshot saved to ${shown.startsWith("..") ? SCREENSHOT : shown}`);

  if (problems.length) throw new Failure(`the page went wrong:\n  ${problems.join("\n  ")}`);
  ok("no page error, console error or CSP violation");
}

// --- teardown ------------------------------------------------------------------------------------

async function stopDashboard() {
  const child = run.dashboard;
  run.dashboard = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(child.pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  const quit = await Promise.race([ended.then(() => true), sleep(5000).then(() => false)]);
  if (!quit) {
    console.error(`warning: orch dashboard (pid ${child.pid}) ignored SIGTERM for 5s; killing it`);
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

/** Stops what runs and removes what was made; says whether it all went well. */
async function cleanUp(logDir) {
  let clean = true;
  run.closing = true;
  if (run.context) {
    const context = run.context;
    run.context = null;
    await Promise.race([context.close().catch(() => {}), sleep(10_000)]);
  }
  await stopDashboard();
  if (run.project) {
    const down = orch(["down"], run.project, logDir);
    run.project = null;
    if (!down.ok) {
      console.error(`orch down failed (${down.why}):\n${down.output}`);
      clean = false;
    }
  }
  for (const dir of run.temp.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  return clean;
}

/** What the project looked like, to go with a failure. */
function diagnose(logDir, said) {
  if (said && (said.out || said.err)) console.error(`--- orch dashboard said:\n${redact(said.out + said.err).slice(-2000)}`);
  if (!run.project) return;
  for (const args of [["ps"], ["logs", "-n", "30"]]) {
    const r = orch(args, run.project, logDir);
    console.error(`--- orch ${args.join(" ")}:\n${r.output.slice(-3000)}`);
  }
}

// --- main ----------------------------------------------------------------------------------------

async function main() {
  const logDir = tempDir("logs");
  let said = null;
  let failed = false;
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the test took longer than ${WATCHDOG_MS / 1000}s`);
    // Best effort, synchronously: the event loop may be stuck on whatever hung.
    if (run.dashboard) {
      try {
        process.kill(run.dashboard.pid, "SIGKILL");
      } catch {}
    }
    if (run.project) orch(["down"], run.project, logDir);
    for (const dir of run.temp) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }, WATCHDOG_MS);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      console.error(`FAIL: interrupted (${signal}); cleaning up`);
      await cleanUp(logDir);
      process.exit(1);
    });
  }
  try {
    checkTools();
    const { chromium } = playwright();
    const project = bringUp(logDir);
    const dashboard = await startDashboard(project);
    said = dashboard.said;
    const context = await openBrowser(chromium);
    await testPage(context, dashboard.url);
  } catch (e) {
    failed = true;
    console.error(`FAIL: ${e instanceof Failure ? e.message : e.stack || e}`);
    const page = run.context?.pages()[0];
    if (page) {
      const shot = path.join(path.dirname(SCREENSHOT), "dashboard-failure.png");
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, timeout: 5000 }).then(() => console.error(`the page at the failure: ${shot}`), () => {});
    }
    diagnose(logDir, said);
  } finally {
    const clean = await cleanUp(logDir);
    clearTimeout(watchdog);
    if (!clean) failed = true;
  }
  if (failed) {
    process.exitCode = 1;
  } else {
    ok("dashboard browser test passed");
  }
}

await main();
