// The browser half of node/browser_e2e_test.go: an applicant completes the
// /demo capture flow with Chromium's fake camera, then a reviewer logs into
// the /console, claims the case the flow opened, checks the evidence and
// rejects it with a reason. The Go test starts the node, the fake-camera
// video and the reviewer, and checks what follows on Kafka and the webhook
// receiver; this script only drives the pages and reports what they showed.
//
// Environment (all set by the Go test):
//   EKYC_E2E_BASE       http://localhost:PORT of the node's API listener
//   EKYC_E2E_CHROMIUM   the browser binary (Debian's /usr/bin/chromium)
//   EKYC_E2E_VIDEO      the .y4m file the fake camera plays
//   EKYC_E2E_ARTIFACTS  directory for screenshots and the trace log
//   EKYC_E2E_TENANT, EKYC_E2E_USER, EKYC_E2E_PASSWORD  the reviewer's login
//   EKYC_E2E_REASON     the reason code the reviewer rejects with
//
// Prints one JSON line: {"session_id", "demo_status", "demo_outcome",
// "demo_reasons", "selfie_faces", "selfie_feedback", "case_id", "evidence",
// "case_decision", "page_errors"}. Exits non-zero,
// with a screenshot of the failing page, on any failure.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("EKYC_E2E_BASE");
const artifacts = env("EKYC_E2E_ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const trace = [];
const step = (s) => {
  trace.push(`${new Date().toISOString()} ${s}`);
  process.stderr.write(`flow: ${s}\n`);
};

const browser = await chromium.launch({
  executablePath: env("EKYC_E2E_CHROMIUM"),
  headless: true,
  timeout: 60_000,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${env("EKYC_E2E_VIDEO")}`,
  ],
});

let page;
const out = { page_errors: [] };
// Errors a page logs or throws are reported: the test requires none.
const watch = (p, name) => {
  p.on("console", (m) => { if (m.type() === "error") { out.page_errors.push(`${name}: ${m.text()} (${m.location().url})`); step(`${name} console error: ${m.text()}`); } });
  p.on("pageerror", (e) => { out.page_errors.push(`${name}: ${e.message}`); step(`${name} page error: ${e.message}`); });
};
try {
  // ------------------------------------------------------------ applicant ---
  const applicant = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await applicant.grantPermissions(["camera"], { origin: base });
  page = await applicant.newPage();
  watch(page, "demo");
  step("open /demo");
  // quality=off: the fake camera shows a portrait, not a document with
  // edges; the capture must not wait for the document-edge heuristic.
  await page.goto(`${base}/demo/?quality=off`);
  const capture = page.getByTestId("ekyc-capture-button");
  for (const which of ["document", "selfie"]) {
    await page.getByTestId(`ekyc-capture-${which}`).waitFor({ timeout: 30_000 });
    await page.locator(`[data-testid="ekyc-capture-${which}"][data-mode="camera"]`).waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="ekyc-video"]');
      return v instanceof HTMLVideoElement && v.videoWidth > 0 && v.readyState >= 2;
    }, null, { timeout: 30_000 });
    await capture.and(page.locator(":enabled")).waitFor({ timeout: 30_000 });
    if (which === "document") await page.screenshot({ path: join(artifacts, "demo-capture.png") });
    if (which === "selfie") {
      // The live feedback asks the node's face detector about the frames.
      await page.locator('[data-testid="ekyc-capture-selfie"][data-faces]').waitFor({ timeout: 30_000 });
      out.selfie_faces = await page.getByTestId("ekyc-capture-selfie").getAttribute("data-faces");
      out.selfie_feedback = (await page.getByTestId("ekyc-feedback").textContent()).trim();
      await page.screenshot({ path: join(artifacts, "demo-selfie.png") });
    }
    step(`capture ${which}`);
    await capture.click();
    await page.waitForFunction((w) => document.body.dataset.phase === `${w}-uploaded` || document.body.dataset.phase === "submitted" ||
      document.body.dataset.phase === "decided" || document.body.dataset.phase === "error", which, { timeout: 60_000 });
    if (await page.evaluate(() => document.body.dataset.phase) === "error") {
      throw new Error(`demo failed: ${await page.getByTestId("demo-error").textContent()}`);
    }
  }
  step("wait for the decision");
  await page.waitForFunction(() => document.body.dataset.phase === "decided" || document.body.dataset.phase === "error", null, { timeout: 180_000 });
  if (await page.evaluate(() => document.body.dataset.phase) === "error") {
    throw new Error(`demo failed: ${await page.getByTestId("demo-error").textContent()}`);
  }
  await page.getByTestId("demo-result").waitFor();
  out.session_id = await page.evaluate(() => document.body.dataset.sessionId);
  out.demo_status = (await page.getByTestId("demo-final-status").textContent()).trim();
  out.demo_outcome = (await page.getByTestId("demo-outcome").textContent()).trim();
  out.demo_reasons = (await page.getByTestId("demo-reasons").textContent()).trim();
  await page.screenshot({ path: join(artifacts, "demo-result.png") });
  step(`demo decided: ${out.demo_status} ${out.demo_outcome}`);
  await applicant.close();

  // ------------------------------------------------------------- reviewer ---
  const reviewer = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await reviewer.newPage();
  watch(page, "console");
  step("open /console and log in");
  await page.goto(`${base}/console/`);
  await page.getByTestId("login-tenant").fill(env("EKYC_E2E_TENANT"));
  await page.getByTestId("login-username").fill(env("EKYC_E2E_USER"));
  await page.getByTestId("login-password").fill(env("EKYC_E2E_PASSWORD"));
  await page.getByTestId("login-submit").click();
  await page.getByTestId("whoami").waitFor({ timeout: 15_000 });

  // The case is opened when the decision is processed; refresh until it
  // is listed.
  const row = page.locator(`[data-testid="case-row"][data-session-id="${out.session_id}"]`);
  for (let i = 0; !(await row.count()); i++) {
    if (i > 60) throw new Error(`no case for session ${out.session_id} in the queue`);
    await page.waitForTimeout(500);
    await page.getByTestId("queue-refresh").click();
  }
  await page.screenshot({ path: join(artifacts, "console-queue.png") });
  out.case_id = await row.getAttribute("data-case-id");
  step(`open case ${out.case_id}`);
  await row.click();
  await page.getByTestId("case-detail").waitFor();

  step("claim (c)");
  await page.keyboard.press("c");
  await page.locator('[data-testid="case-detail"][data-state="assigned"]').waitFor({ timeout: 15_000 });
  await page.getByTestId("decide-outcome").and(page.locator(":enabled")).waitFor();

  // The evidence: every image decrypted and rendered, the checks, and the
  // duplicate-identity match with the other session and its images.
  await page.getByTestId("evidence-images").waitFor();
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('[data-testid="evidence-images"] img, [data-testid="evidence-dedup"] img')];
    return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, null, { timeout: 30_000 });
  out.evidence = await page.evaluate(() => ({
    images: [...document.querySelectorAll('[data-testid="evidence-images"] img')].map((i) => i.naturalWidth > 0 && i.alt),
    dedup_sessions: [...document.querySelectorAll('[data-testid="dedup-match"]')].map((d) => d.dataset.sessionId),
    dedup_images: document.querySelectorAll('[data-testid="evidence-dedup"] img').length,
    face: document.querySelector('[data-testid="evidence-face"]')?.textContent ?? "",
    checks: [...document.querySelectorAll('[data-testid^="check-"]')].map((r) => r.dataset.testid),
    reasons: document.querySelector('[data-testid="case-detail"] [data-testid="case-reasons"]')?.textContent ?? "",
    mrz_fields: document.querySelector('[data-testid="document-mrz-fields"]')?.textContent ?? "",
    mrz_checks: document.querySelector('[data-testid="document-mrz-checks"]')?.textContent ?? "",
  }));
  await page.screenshot({ path: join(artifacts, "console-case.png"), fullPage: true });

  step("reject (r) with a reason");
  await page.keyboard.press("r");
  await page.getByTestId("decide-reasons").selectOption(env("EKYC_E2E_REASON"));
  await page.getByTestId("decide-comment").fill("checked against the evidence by the e2e reviewer");
  await page.getByTestId("decide-submit").click();
  await page.getByTestId("case-decision").waitFor({ timeout: 15_000 });
  out.case_decision = (await page.getByTestId("case-decision").textContent()).trim();
  await page.screenshot({ path: join(artifacts, "console-decided.png"), fullPage: true });
  step(`decided: ${out.case_decision}`);
  await reviewer.close();
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  step(`FAILED: ${e instanceof Error ? e.stack : e}`);
  if (page) await page.screenshot({ path: join(artifacts, "failure.png"), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  writeFileSync(join(artifacts, "flow.log"), trace.join("\n") + "\n");
  await browser.close();
}
