// swagger_ui_browser.js - drives Debian's headless Chromium (npm playwright-core,
// pinned in package.json) through one service's Swagger UI page, for
// tests/e2e/test_swagger_ui.py.
//
//   node swagger_ui_browser.js PLAN.json
//
// PLAN: {"url": page URL, "operations": [["get", "/api/products"], ...],
//        "token": bearer token, "call": {"method", "path", "params": {name: value}},
//        "screenshot": PNG path, "profile": a fresh, empty directory}
// Prints one JSON line: {"rendered": [[method, path], ...], "authorized": bool,
//   "status": the status Swagger UI shows for the call, "curl": its curl command,
//   "errors": console errors and page errors (a Content-Security-Policy violation
//   shows here)}. Exits 0 when it could do all that; the Python side judges.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT_MS = 30000;

async function main() {
    const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const out = { rendered: [], authorized: false, status: null, curl: null, errors: [] };
    // a persistent context on a fresh directory: the --user-data-dir of this run
    const context = await chromium.launchPersistentContext(plan.profile, {
        executablePath: '/usr/bin/chromium', headless: true, args: FLAGS,
        viewport: { width: 1280, height: 900 }, timeout: TIMEOUT_MS,
    });
    try {
        const page = context.pages()[0] || await context.newPage();
        page.setDefaultTimeout(TIMEOUT_MS);
        page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
        page.on('pageerror', (e) => out.errors.push(String(e)));
        const answer = await page.goto(plan.url, { waitUntil: 'load' });
        if (!answer || answer.status() !== 200)
            throw new Error(`${plan.url} answered ${answer ? answer.status() : 'nothing'}`);

        // every operation of the description rendered as a block
        await page.waitForSelector('.opblock .opblock-summary-path');
        out.rendered = await page.$$eval('.opblock', (blocks) => blocks.map((b) => [
            (b.querySelector('.opblock-summary-method') || {}).textContent.trim().toLowerCase(),
            b.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ]));

        // Authorize with the bearer token
        await page.click('.auth-wrapper .authorize');
        const modal = page.locator('.dialog-ux .modal-ux');
        await modal.locator('input').first().fill(plan.token);
        await modal.locator('button.modal-btn.auth.authorize').click();
        out.authorized = await modal.locator('button.modal-btn.auth:has-text("Logout")').count() > 0;
        await modal.locator('button.btn-done, button.close-modal').first().click();

        // Try it out: the call, with its parameters, and Execute
        const block = page.locator(`.opblock-${plan.call.method}`).filter({
            has: page.locator(`.opblock-summary-path[data-path="${plan.call.path}"]`),
        }).first();
        await block.locator('.opblock-summary').first().click();
        await block.locator('button.try-out__btn').click();
        for (const [name, value] of Object.entries(plan.call.params || {}))
            await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
        await block.locator('button.execute').click();
        const status = block.locator('.live-responses-table .response .response-col_status');
        await status.first().waitFor();
        out.status = (await status.first().textContent()).trim();
        out.curl = (await block.locator('.curl-command .curl').first().textContent()).trim();
        await page.screenshot({ path: plan.screenshot, fullPage: true });
    } finally {
        await context.close();
    }
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
    process.stderr.write(`swagger_ui_browser: ${e.stack || e}\n`);
    process.exit(1);
});
