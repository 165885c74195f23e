// web.spec.mjs — the citizen pages in a real browser (TAP on stdout).
// Run by test-web.sh, which prepares the server and the files and passes them in TTE_WEB_*.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} not set`);
  return process.env[k];
};
const BASE = env('TTE_WEB_BASE');
const DOC = env('TTE_WEB_DOC');
const QR_URL = process.env.TTE_WEB_QR_URL || `${BASE}/v/${DOC}`;
const SHOTS = env('TTE_WEB_SHOTS');
const PROFILE = env('TTE_WEB_PROFILE');
const files = {
  signed: env('TTE_WEB_SIGNED'),
  signed2: env('TTE_WEB_SIGNED2'),
  tampered: env('TTE_WEB_TAMPERED'),
  unsigned: env('TTE_WEB_UNSIGNED'),
  untrusted: env('TTE_WEB_UNTRUSTED'),
  hostile: env('TTE_WEB_HOSTILE'),
  notpdf: env('TTE_WEB_NOTPDF'),
  toolarge: env('TTE_WEB_TOOLARGE'),
};
const WITHDRAW_REASON = 'Salah tanggal rapat <script>alert(1)</script> — diganti surat 124';

let n = 0;
let failed = 0;
const ok = (cond, what, diag) => {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${what}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${what}`);
    if (diag) console.log(String(diag).split('\n').map((l) => `# ${l}`).join('\n'));
  }
};
// A step that must not throw; a throw is one failed check with the message.
const step = async (what, fn) => {
  try {
    const r = await fn();
    ok(r !== false, what);
  } catch (e) {
    ok(false, what, e && e.stack ? e.stack : e);
  }
};

const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run'];
// Each context gets a fresh profile directory of its own.
async function open(name, options) {
  const dir = mkdtempSync(join(PROFILE + '-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.TTE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    locale: 'id-ID',
    ...options,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(60000);
  // Everything must come from the service itself: no CDN, no external font.
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(BASE) && !u.startsWith('data:')) foreign.push(`${name}: ${u}`);
  });
  // Error pages (404, 415, 422) are intended answers; anything else (a CSP violation, a
  // script error) is a finding.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: .* status of 4\d\d/.test(m.text())) {
      consoleErrors.push(`${name}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => consoleErrors.push(`${name}: ${e.message}`));
  return { ctx, page };
}
const foreign = [];
const consoleErrors = [];

const shot = (page, file) => page.screenshot({ path: join(SHOTS, file), fullPage: true });
const text = (page, sel) => page.locator(sel).first().innerText();

// Upload through the form on the current page (JS: in-page; no JS: a plain post).
async function upload(page, file, { js = true } = {}) {
  await page.setInputFiles('input[type=file]', file);
  if (js) {
    // The script swaps <main> for the answer's: wait for a <main> that is not this one.
    await page.evaluate(() => { document.getElementById('main').dataset.old = '1'; });
    await page.click('form.upload button');
    await page.waitForSelector('main#main:not([data-old])');
  } else {
    await Promise.all([page.waitForNavigation(), page.click('form.upload button')]);
  }
}

const sha256 = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');

// ---- phone, JavaScript on -------------------------------------------------------------------
{
  const { ctx, page } = await open('phone', {
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });

  let resp;
  await step('GET / answers 200 in Bahasa Indonesia', async () => {
    resp = await page.goto(`${BASE}/`);
    return resp.status() === 200 && (await page.getAttribute('html', 'lang')) === 'id'
      && (await text(page, 'h1')).includes('Periksa keaslian surat');
  });
  await step('security headers: strict CSP, nosniff, frame-ancestors none', async () => {
    const h = resp.headers();
    const csp = h['content-security-policy'] || '';
    return csp.includes("default-src 'self'") && csp.includes("img-src 'self' data:")
      && csp.includes("frame-ancestors 'none'") && h['x-content-type-options'] === 'nosniff';
  });
  await step('the page says uploads are not stored', async () =>
    (await page.locator('body').innerText()).includes('tidak disimpan'));
  await step('no horizontal scrolling on a 390 px screen', async () => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 390) throw new Error(`scrollWidth ${w}`);
  });
  await shot(page, '01-home-phone.png');

  await step('English switch: link to ?lang=en shows the page in English', async () => {
    await page.click('header a.lang');
    await page.waitForURL(/lang=en/);
    const h1 = await text(page, 'h1');
    await shot(page, '02-home-phone-en.png');
    return h1.includes('Check an electronically signed letter');
  });
  await step('English result: a valid letter says "Valid signature"', async () => {
    await upload(page, files.signed2);
    return (await text(page, '.verdict')).includes('Valid signature');
  });

  await page.goto(`${BASE}/`);
  await step('valid signed letter: "sah" verdict and the signer\'s name', async () => {
    await upload(page, files.signed);
    const v = await text(page, '.sig .verdict');
    const who = await text(page, '.sig .signer-name');
    await shot(page, '03-valid-phone.png');
    return v.includes('Tanda tangan sah') && v.includes('tidak berubah') && who.includes('Baiq Nurul Aini');
  });
  await step('valid letter: title, agency, time and the chain up to the national root', async () => {
    const sig = await text(page, '.sig');
    return sig.includes('Sekretaris Dinas') && sig.includes('Pemerintah Kabupaten Lombok Timur')
      && /WIB|WITA|WIT/.test(sig) && (await page.locator('.sig .chain li').count()) >= 3
      && sig.includes('root nasional');
  });
  await step('valid letter: found in the register (link to its /v/ record)', async () =>
    (await page.locator(`.register a[href^="/v/${DOC}"]`).count()) === 1);

  await page.goto(`${BASE}/`);
  await step('tampered letter: "diubah" verdict', async () => {
    await upload(page, files.tampered);
    return (await text(page, '.sig .verdict')).includes('Dokumen telah diubah setelah ditandatangani');
  });
  await step('tampered letter: signed and current page side by side (PNG images)', async () => {
    const imgs = page.locator('.compare .pair img');
    await imgs.first().scrollIntoViewIfNeeded();
    const count = await imgs.count();
    const srcs = await imgs.evaluateAll((els) => els.map((e) => e.getAttribute('src').slice(0, 22)));
    const loaded = await imgs.evaluateAll((els) => els.every((e) => e.complete && e.naturalWidth > 100));
    const boxes = await imgs.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().top));
    await shot(page, '04-tampered-phone.png');
    await page.locator('.compare').screenshot({ path: join(SHOTS, '04b-tampered-pages-phone.png') });
    return count >= 2 && srcs.every((s) => s === 'data:image/png;base64,') && loaded
      && Math.abs(boxes[0] - boxes[1]) < 2;
  });
  await step('tampered letter: its signed version is recognised in the register', async () =>
    (await text(page, '.register')).includes('Versi yang ditandatangani terdaftar'));

  await page.goto(`${BASE}/`);
  await step('signer outside the national root: "Penanda tangan tidak dikenal"', async () => {
    await upload(page, files.untrusted);
    const v = await text(page, '.sig .verdict');
    await shot(page, '04c-unknown-signer-phone.png');
    return v.includes('Penanda tangan tidak dikenal')
      && (await text(page, '.sig .chain')).includes('tidak sampai ke root nasional')
      && (await text(page, '.register')).includes('tidak ditemukan di register');
  });
  await page.goto(`${BASE}/`);
  await step('a certificate name made of markup is shown as text (HTML-escaped)', async () => {
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs++; d.dismiss(); });
    await upload(page, files.hostile);
    const sig = await text(page, '.sig');
    await shot(page, '04d-hostile-name-phone.png');
    return sig.includes('<img src=x onerror=alert(1)>Kepala Dinas') && sig.includes('<b>Bupati</b>')
      && sig.includes('Evil & "Co"') && (await page.locator('.sig img, .sig b').count()) === 0
      && dialogs === 0 && (await text(page, '.sig .verdict')).includes('tidak dikenal');
  });
  await page.goto(`${BASE}/`);
  await step('not a PDF: explained on the page, not JSON', async () => {
    await upload(page, files.notpdf);
    const t = await text(page, 'main');
    await shot(page, '05-not-pdf-phone.png');
    return t.includes('bukan PDF') && !t.includes('"error"');
  });
  await page.goto(`${BASE}/`);
  await step('too large: explained on the page, not JSON', async () => {
    await upload(page, files.toolarge);
    const t = await text(page, 'main');
    return t.includes('terlalu besar') && !t.includes('"error"');
  });
  await page.goto(`${BASE}/`);
  await step('unsigned letter: "tidak memiliki tanda tangan" on the page', async () => {
    await upload(page, files.unsigned);
    return (await text(page, 'main')).includes('tidak memiliki tanda tangan elektronik');
  });

  await page.goto(`${BASE}/`);
  await step('drag and drop a PDF onto the upload box checks it', async () => {
    const b64 = readFileSync(files.signed2).toString('base64');
    const dt = await page.evaluateHandle((data) => {
      const bin = atob(data);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const t = new DataTransfer();
      t.items.add(new File([bytes], 'surat.pdf', { type: 'application/pdf' }));
      return t;
    }, b64);
    await page.dispatchEvent('.drop', 'dragover', { dataTransfer: dt });
    await page.dispatchEvent('.drop', 'drop', { dataTransfer: dt });
    await page.waitForSelector('.sig .verdict');
    return (await text(page, '.sig .verdict')).includes('Tanda tangan sah');
  });

  await step('QR URL opens the register record: signer, status, SHA-256', async () => {
    const r = await page.goto(QR_URL);
    const t = await text(page, 'main');
    await shot(page, '06-record-phone.png');
    return r.status() === 200 && t.includes('Baiq Nurul Aini') && t.includes('Sekretaris Dinas')
      && t.includes('Berlaku') && t.includes(sha256(files.signed));
  });
  await step('record page: the exact letter is confirmed', async () => {
    await upload(page, files.signed);
    const t = await text(page, '.match');
    await shot(page, '07-record-match-phone.png');
    return t.includes('sama persis');
  });
  await step('record page: the tampered copy is NOT the registered document', async () => {
    await page.goto(QR_URL);
    await upload(page, files.tampered);
    const t = await text(page, '.match');
    return t.includes('BUKAN dokumen yang terdaftar') && t.includes('memuat dokumen yang terdaftar');
  });
  await step('unknown /v/ id: a page saying so, not JSON', async () => {
    const r = await page.goto(`${BASE}/v/tidak-ada-dokumen-ini`);
    return r.status() === 404 && (await text(page, 'main')).includes('tidak ada di register');
  });

  await step('withdraw the letter through the API with the signer\'s token', async () => {
    const r = await fetch(`${BASE}/api/v1/documents/${DOC}/withdraw`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env('TTE_WEB_SIGNER_TOKEN')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: WITHDRAW_REASON }),
    });
    return r.status === 200;
  });
  await step('record page shows the withdrawal: reason and date, prominently', async () => {
    await page.goto(QR_URL);
    const t = await text(page, '.withdrawn');
    await shot(page, '08-withdrawn-phone.png');
    return t.includes('DITARIK') && t.includes('Salah tanggal rapat') && /\d{4}, \d\d:\d\d/.test(t);
  });
  await step('the reason is shown as text, never as markup (HTML-escaped)', async () =>
    (await page.locator('.withdrawn script').count()) === 0
    && (await text(page, '.withdrawn')).includes('<script>alert(1)</script>'));
  await step('uploading the withdrawn letter shows the withdrawal too', async () => {
    await page.goto(`${BASE}/`);
    await upload(page, files.signed);
    const t = await text(page, 'main');
    await shot(page, '09-withdrawn-upload-phone.png');
    return t.includes('telah DITARIK') && t.includes('Salah tanggal rapat');
  });
  await ctx.close();
}

// ---- desktop ------------------------------------------------------------------------------
{
  const { ctx, page } = await open('desktop', { viewport: { width: 1280, height: 900 } });
  await page.goto(`${BASE}/`);
  await shot(page, '10-home-desktop.png');
  await step('desktop: valid letter result', async () => {
    await upload(page, files.signed2);
    await shot(page, '11-valid-desktop.png');
    return (await text(page, '.sig .verdict')).includes('Tanda tangan sah');
  });
  await page.goto(`${BASE}/`);
  await step('desktop: tampered letter with the pages side by side', async () => {
    await upload(page, files.tampered);
    await shot(page, '12-tampered-desktop.png');
    const boxes = await page.locator('.compare .pair img').evaluateAll(
      (els) => els.map((e) => e.getBoundingClientRect()));
    return boxes.length >= 2 && boxes[1].left > boxes[0].right - 1 && boxes[0].width > 300;
  });
  await page.goto(QR_URL);
  await shot(page, '13-withdrawn-desktop.png');
  await ctx.close();
}

// ---- no JavaScript: the plain form post ----------------------------------------------------
{
  const { ctx, page } = await open('nojs', {
    viewport: { width: 390, height: 844 }, javaScriptEnabled: false,
  });
  await step('no JavaScript: the plain form posts to /periksa and shows the verdict', async () => {
    await page.goto(`${BASE}/`);
    await upload(page, files.signed2, { js: false });
    const v = await text(page, '.sig .verdict');
    await shot(page, '14-nojs-valid-phone.png');
    return page.url().endsWith('/periksa') && v.includes('Tanda tangan sah')
      && (await text(page, '.sig .signer-name')).includes('Baiq Nurul Aini');
  });
  await step('no JavaScript: tampered letter, pages side by side', async () => {
    await page.goto(`${BASE}/`);
    await upload(page, files.tampered, { js: false });
    await shot(page, '15-nojs-tampered-phone.png');
    return (await text(page, '.sig .verdict')).includes('diubah')
      && (await page.locator('.compare .pair img').count()) >= 2;
  });
  await step('no JavaScript: the record page form confirms the letter', async () => {
    await page.goto(QR_URL);
    await upload(page, files.signed, { js: false });
    return (await text(page, '.match')).includes('sama persis')
      && (await text(page, 'main')).includes('telah DITARIK');
  });
  await step('GET /periksa (a reload or a shared result link) shows the upload page', async () => {
    const r = await page.goto(`${BASE}/periksa`);
    return r.status() === 200 && (await text(page, 'h1')).includes('Periksa keaslian');
  });
  await step('no JavaScript: a file above the size limit gets a page in words', async () => {
    await page.goto(`${BASE}/`);
    await upload(page, files.toolarge, { js: false });
    const t = await text(page, 'main');
    await shot(page, '16-nojs-too-large-phone.png');
    return t.includes('Berkas terlalu besar');
  });
  await step('no JavaScript: an error is a page in words', async () => {
    await page.goto(`${BASE}/?lang=en`);
    await upload(page, files.notpdf, { js: false });
    return (await text(page, 'main')).includes('This file is not a PDF');
  });
  await ctx.close();
}

ok(foreign.length === 0, 'every request went to the service itself (no CDN, no external font)',
  foreign.join('\n'));
ok(consoleErrors.length === 0, 'no errors in the browser console (CSP violations included)',
  consoleErrors.join('\n'));
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
