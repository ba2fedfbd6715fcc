#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// The agent's pages in a real browser: Debian's Chromium, headless, driven
// by playwright-core (installed in build/node-browser by install.sh; no
// browser of Playwright's own). What a user does:
//
//   1. opens / and finds the pod in table#workloads (a tr.pod row whose
//      namespace and pod cells are NS and POD);
//   2. clicks that row's a.flamegraph link and gets the SVG flamegraph
//      (image/svg+xml, its script run: the document's load event);
//   3. clicks "Search" (#search), answers the prompt() with FUNCTION;
//   4. sees the frames named FUNCTION turn the highlight colour
//      (rgb(230,0,230), src/output/flamegraph_js.h), no other frame in it, and
//      "Matched: X%" in #matched with 0 < X <= 100 and X consistent with
//      the highlighted frames' own percentages (their tooltips).
//
//   node tests/browser/agent_page.mjs --base http://127.0.0.1:8080 \
//        --namespace NS --pod POD --function NAME --artifacts DIR
//        [--chromium /usr/bin/chromium] [--timeout-ms 30000]
//
// Writes DIR/index.png (the list), DIR/flamegraph.png (the highlighted
// graph, the whole SVG), DIR/flamegraph.svg (its DOM after the search)
// and, on a failure, DIR/failure.png. Prints one JSON object on stdout
// ({"ok": true|false, ...}) and exits 0 when every check passed, 1 when
// one failed, 2 on a usage error or when a dependency is missing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const DEPS_DIR = process.env.BROWSER_DEPS_DIR ||
  path.join(ROOT, "build/node-browser");

// What src/output/flamegraph_js.h sets on a matched frame's <rect> (HIT), as
// getComputedStyle spells it.
const HIT_RGB = "rgb(230, 0, 230)";
// Without the background-networking flags Chromium keeps opening
// connections that a closed network refuses; --no-sandbox: we run as root.
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update",
  "--disable-sync",
];

function usage(msg) {
  process.stderr.write(`agent_page.mjs: ${msg}\n` +
    "usage: node tests/browser/agent_page.mjs --base URL --namespace NS " +
    "--pod POD --function NAME --artifacts DIR [--chromium PATH] " +
    "[--timeout-ms MS]\n");
  process.exit(2);
}

function parseArgs(argv) {
  const known = {
    "--base": "base", "--namespace": "namespace", "--pod": "pod",
    "--function": "fn", "--artifacts": "artifacts", "--chromium": "chromium",
    "--timeout-ms": "timeoutMs",
  };
  const a = { chromium: "/usr/bin/chromium", timeoutMs: "30000" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = known[argv[i]];
    if (!key) usage(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    a[key] = argv[i + 1];
  }
  for (const k of ["base", "namespace", "pod", "fn", "artifacts"])
    if (!a[k]) usage(`--${k === "fn" ? "function" : k} is required`);
  a.timeoutMs = Number(a.timeoutMs);
  if (!(a.timeoutMs > 0)) usage("--timeout-ms must be a positive number");
  a.base = a.base.replace(/\/+$/, "");
  return a;
}

class CheckFailed extends Error {}

function check(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

// A failed check says what it saw; anything else, where it broke (without
// the terminal colours of Playwright's call logs).
function errorText(e) {
  return (e instanceof CheckFailed ? e.message : String(e.stack || e))
    .replace(/\u001b\[[0-9;]*m/g, "");
}

const args = parseArgs(process.argv.slice(2));
const result = {
  ok: false, base: args.base, namespace: args.namespace, pod: args.pod,
  function: args.fn, screenshots: {}, console: [], page_errors: [],
};

let chromium;
try {
  chromium = createRequire(path.join(DEPS_DIR, "package.json"))(
    "playwright-core").chromium;
} catch (e) {
  usage(`playwright-core is not in ${DEPS_DIR}: run tests/browser/install.sh ` +
        `(${e.message.split("\n")[0]})`);
}
if (!fs.existsSync(args.chromium))
  usage(`${args.chromium} is missing: apt-get install chromium ` +
        "(scripts/install-deps.sh)");
fs.mkdirSync(args.artifacts, { recursive: true });

// 1. the list
async function openIndex(page) {
  const resp = await page.goto(args.base + "/", { waitUntil: "load" });
  check(resp && resp.status() === 200, `GET / answered ${resp && resp.status()}`);
  check((resp.headers()["content-type"] || "").startsWith("text/html"),
        `GET / is ${resp.headers()["content-type"]}`);
  await page.locator("table#workloads").waitFor();
  // Every row as the user sees it: kind, namespace, pod, container cells.
  const rows = await page.locator("table#workloads tbody tr").evaluateAll(
    (trs) => trs.map((tr) => ({
      cls: tr.className,
      cells: Array.from(tr.cells, (td) => td.textContent.trim()),
      href: tr.querySelector("a.flamegraph")?.getAttribute("href") ?? null,
    })));
  result.index_rows = rows.length;
  const mine = rows.filter((r) => r.cls === "pod" &&
    r.cells[1] === args.namespace && r.cells[2] === args.pod);
  check(mine.length === 1, `table#workloads has ${mine.length} tr.pod rows ` +
        `for ${args.namespace}/${args.pod}: ${JSON.stringify(rows)}`);
  const containers = rows.filter((r) => r.cls === "container" &&
    r.cells[1] === args.namespace && r.cells[2] === args.pod);
  check(containers.length >= 1,
        `no tr.container row of pod ${args.namespace}/${args.pod}`);
  result.pod_row = mine[0];
  result.container_rows = containers.length;
  await page.screenshot({ path: path.join(args.artifacts, "index.png"),
                          fullPage: true });
  result.screenshots.index = path.join(args.artifacts, "index.png");
  return mine[0];
}

// 2. the click, to the flamegraph
async function openFlamegraph(page, row) {
  const want = `/pods/${args.namespace}/${args.pod}`;
  check(row.href && row.href.startsWith(want + "?"),
        `the pod's a.flamegraph goes to ${row.href}, not ${want}?...`);
  const quote = (s) => s.replace(/[.*+?^$()|[\]{}\\]/g, "\\$&");
  const exactly = (s) => new RegExp("^\\s*" + quote(s) + "\\s*$");
  const link = page.locator("table#workloads tbody tr.pod")
    .filter({ has: page.locator("td:nth-child(2)",
                                { hasText: exactly(args.namespace) }) })
    .filter({ has: page.locator("td:nth-child(3)",
                                { hasText: exactly(args.pod) }) })
    .locator("a.flamegraph");
  check(await link.count() === 1, `${await link.count()} links to click`);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === want),
    link.click(),
  ]);
  // The load event: the SVG's onload="init()" has run.
  await page.waitForLoadState("load");
  result.flamegraph_url = page.url();
  check(resp.status() === 200, `GET ${resp.url()} answered ${resp.status()}: ` +
        (await resp.text()).slice(0, 200));
  const ctype = resp.headers()["content-type"] || "";
  check(ctype === "image/svg+xml", `the flamegraph is ${ctype}`);
  check(new URL(page.url()).pathname === want, `landed on ${page.url()}`);
  const doc = await page.evaluate(() => ({
    root: document.documentElement.localName,
    ns: document.documentElement.namespaceURI,
    title: document.getElementById("title")?.textContent ?? null,
    frames: document.querySelectorAll("#frames > g").length,
    width: +document.documentElement.getAttribute("width"),
    height: +document.documentElement.getAttribute("height"),
  }));
  check(doc.root === "svg" && doc.ns === "http://www.w3.org/2000/svg",
        `the document is <${doc.root}> in ${doc.ns}`);
  check(doc.frames > 1, `${doc.frames} frames in #frames`);
  check(doc.title && doc.title.includes(`${args.namespace}/${args.pod}`),
        `title: ${doc.title}`);
  result.flamegraph = doc;
  // The whole graph in the viewport (a bare SVG document has no scrolling
  // body for a full-page screenshot).
  await page.setViewportSize({ width: Math.max(doc.width, 200),
                               height: Math.max(doc.height, 200) });
  return doc;
}

// 3. Search, through the prompt
async function search(page) {
  const dialogs = [];
  const onDialog = async (d) => {
    dialogs.push({ type: d.type(), message: d.message() });
    if (d.type() === "prompt") await d.accept(args.fn);
    else await d.dismiss();
  };
  page.on("dialog", onDialog);
  try {
    const search = page.locator("#search");
    check(await search.count() === 1, "no #search button");
    check((await search.textContent()).trim() === "Search",
          `#search says ${await search.textContent()}`);
    check((await page.locator("#matched").textContent()).trim() === "",
          "#matched is not empty before the search");
    await search.click();
    await page.waitForFunction(
      () => (document.getElementById("matched")?.textContent ?? "").trim() !== "",
      null, { timeout: args.timeoutMs });
  } finally {
    page.off("dialog", onDialog);
  }
  result.dialogs = dialogs;
  check(dialogs.length === 1 && dialogs[0].type === "prompt",
        `dialogs: ${JSON.stringify(dialogs)}`);
}

// 4. what it highlighted
async function checkHighlight(page) {
  const frames = await page.evaluate((hit) =>
    Array.from(document.querySelectorAll("#frames > g"), (g) => {
      const rect = g.querySelector("rect");
      return {
        title: g.querySelector("title")?.textContent ?? "",
        label: g.querySelector("text")?.textContent ?? "",
        hit: getComputedStyle(rect).fill === hit,
        shown: g.style.display !== "none",
      };
    }), HIT_RGB);
  const nameOf = (f) => f.title.slice(0, f.title.lastIndexOf(" ("));
  const pctOf = (f) => Number((/, ([\d.]+)%\)$/.exec(f.title) || [])[1]);
  const named = frames.filter((f) => nameOf(f).includes(args.fn));
  const hits = frames.filter((f) => f.hit);
  const re = new RegExp(args.fn);
  result.frames_named = named.length;
  result.highlighted = hits.map((f) => ({ title: f.title, label: f.label }));
  check(named.length > 0, `no frame is named like ${args.fn}`);
  check(hits.some((f) => nameOf(f).includes(args.fn) && f.shown),
        `no frame named ${args.fn} is highlighted (${HIT_RGB}); ` +
        `frames so named: ${JSON.stringify(named.slice(0, 5))}`);
  const wrong = hits.filter((f) => !re.test(nameOf(f)));
  check(!wrong.length, `frames not matching ${args.fn} highlighted: ` +
        JSON.stringify(wrong.slice(0, 5)));
  const missed = frames.filter((f) => re.test(nameOf(f)) && !f.hit);
  check(!missed.length, `frames matching ${args.fn} not highlighted: ` +
        JSON.stringify(missed.slice(0, 5)));
  // A label the user can read: at least one highlighted frame is wide
  // enough to show the name (in full or cut with "..").
  check(hits.some((f) => f.label && (f.label.includes(args.fn) ||
          (f.label.endsWith("..") && args.fn.startsWith(f.label.slice(0, -2))))),
        `no highlighted frame shows ${args.fn} in its label: ` +
        JSON.stringify(result.highlighted.slice(0, 5)));

  const text = (await page.locator("#matched").textContent()).trim();
  result.matched_text = text;
  const m = /^Matched: ([\d.]+)%$/i.exec(text);
  check(m, `#matched says ${JSON.stringify(text)}, not "Matched: X%"`);
  const pct = Number(m[1]);
  result.matched_pct = pct;
  check(pct > 0 && pct <= 100, `matched ${pct}%`);
  // The union of the highlighted spans: at least the widest one, at most
  // their sum (tooltips round to 0.01%, #matched to 0.1%).
  const pcts = hits.map(pctOf);
  check(pcts.every((p) => Number.isFinite(p)),
        `tooltips without a percentage: ${JSON.stringify(result.highlighted)}`);
  const widest = Math.max(...pcts), sum = pcts.reduce((a, b) => a + b, 0);
  result.highlighted_pct = { widest, sum: Number(sum.toFixed(2)) };
  check(pct >= widest - 0.1 && pct <= sum + 0.1,
        `matched ${pct}% is not between the widest highlighted frame ` +
        `(${widest}%) and their sum (${sum.toFixed(2)}%)`);
}

async function main() {
  // Playwright gives the browser a fresh --user-data-dir of its own (and
  // removes it); it also adds --headless.
  const browser = await chromium.launch({
    executablePath: args.chromium, headless: true, args: CHROMIUM_ARGS,
    timeout: args.timeoutMs,
  });
  result.browser = browser.version();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(args.timeoutMs);
  page.on("console", (m) => result.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => result.page_errors.push(String(e)));
  try {
    const row = await openIndex(page);
    await openFlamegraph(page, row);
    await search(page);
    await checkHighlight(page);
    check(!result.page_errors.length,
          `script errors: ${result.page_errors.join("; ")}`);
    const png = path.join(args.artifacts, "flamegraph.png");
    await page.locator("svg").first().screenshot({ path: png });
    result.screenshots.flamegraph = png;
    const svg = path.join(args.artifacts, "flamegraph.svg");
    fs.writeFileSync(svg, await page.evaluate(
      () => new XMLSerializer().serializeToString(document)));
    result.screenshots.flamegraph_svg = svg;
    result.ok = true;
  } catch (e) {
    result.error = errorText(e);
    try {
      const png = path.join(args.artifacts, "failure.png");
      await page.screenshot({ path: png, timeout: 5000 });
      result.screenshots.failure = png;
    } catch { /* the failure is what matters */ }
  } finally {
    await browser.close();
  }
}

try {
  await main();
} catch (e) {
  result.error = errorText(e);
}
process.stdout.write(JSON.stringify(result, null, 1) + os.EOL);
process.exit(result.ok ? 0 : 1);
