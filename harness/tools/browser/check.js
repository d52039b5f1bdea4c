// Description: what a reader sees, checked in Debian's headless Chromium
// (driven by playwright-core): every slide of every deck and every chapter
// rendered as GitHub-flavoured Markdown loads with no console error and no
// failed request, no slide is blank, every picture loads, and the smallest
// text of every SVG diagram is measured as it is drawn on the screen.
//
//   node check.js decks   MIN_PX  DECK.html...       (a 1280x720 window)
//   node check.js pages   MIN_PX  PAGE.html...       (a chapter column ~880 px)
//   node check.js pdf     OUTDIR  DECK.html...       (one PDF per deck, a page a slide)
//
// Prints one line per file and a last line "N ok, N failed"; exit 1 when
// anything failed. Compare with harness/tools/browser.sh, which renders the
// chapters, finds Chromium and runs this.
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');
const fs = require('fs');
const http = require('http');

// Pages are served over HTTP from the checkout (127.0.0.1 only), as a forge
// or a course site would: file:// pages may not read their own pictures.
const TYPES = { '.html': 'text/html', '.svg': 'image/svg+xml', '.png': 'image/png', '.css': 'text/css',
	'.js': 'text/javascript', '.json': 'application/json', '.md': 'text/plain' };
function serve(rootDir) {
	const server = http.createServer((req, res) => {
		const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
		if (rel === '/favicon.ico') { res.writeHead(204); res.end(); return; }   // asked by the browser, not the page
		const file = path.join(rootDir, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''));
		if (!file.startsWith(rootDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
			res.writeHead(404); res.end('not found'); return;
		}
		res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
		fs.createReadStream(file).pipe(res);
	});
	return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}
let base = '';
const urlOf = (file) => base + '/' + path.relative(process.cwd(), path.resolve(file)).split(path.sep).map(encodeURIComponent).join('/');

const CHROMIUM = process.env.ATONCE_CHROMIUM || '/usr/bin/chromium';
// The flags a closed network and a root user need (see DESIGN.md).
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

// In the page: the smallest SVG text drawn, in CSS pixels, over the
// pictures inside `root` that are on screen. Graphviz writes font sizes in
// the viewBox's units, so a text's drawn size is its font size times the
// picture's drawn width over its viewBox width (times any scale() around it).
async function smallestSvgText(page, rootSelector) {
	return page.evaluate(async (sel) => {
		const root = document.querySelector(sel) || document.body;
		const found = [];
		const scaleOf = (el, top) => {
			let s = 1;
			for (let e = el.parentElement; e && e !== top; e = e.parentElement) {
				const m = /scale\(\s*([\d.]+)/.exec(e.getAttribute('transform') || '');
				if (m) s *= parseFloat(m[1]);
			}
			return s;
		};
		const fontOf = (t) => {
			for (let e = t; e && e.getAttribute; e = e.parentElement) {
				const a = e.getAttribute('font-size') || (/font-size:\s*([\d.]+)/.exec(e.getAttribute('style') || '') || [])[1];
				if (a) return parseFloat(a);
			}
			return 14;   // Graphviz's default
		};
		const measure = (svg, drawnWidth, name) => {
			const vb = (svg.getAttribute('viewBox') || '').split(/[\s,]+/).map(Number);
			const vbw = vb.length === 4 && vb[2] > 0 ? vb[2] : parseFloat(svg.getAttribute('width')) || 0;
			if (!vbw || !drawnWidth) return;
			for (const t of svg.querySelectorAll('text')) {
				if (!t.textContent.trim()) continue;
				const px = fontOf(t) * scaleOf(t, svg) * drawnWidth / vbw;
				found.push({ px, name, text: t.textContent.trim().slice(0, 40) });
			}
		};
		const visible = (el) => {
			const r = el.getBoundingClientRect();
			return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
		};
		for (const svg of root.querySelectorAll('svg')) {
			if (visible(svg)) measure(svg, svg.getBoundingClientRect().width, 'inline svg');
		}
		for (const img of root.querySelectorAll('img')) {
			const src = img.currentSrc || img.src || '';
			if (!visible(img) || !/\.svg($|\?)|^data:image\/svg/.test(src)) continue;
			try {
				const text = await (await fetch(src)).text();
				const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
				measure(svg, img.getBoundingClientRect().width, (img.getAttribute('alt') || src).slice(0, 60));
			} catch (e) { /* a picture that cannot be read is reported as not loaded */ }
		}
		found.sort((a, b) => a.px - b.px);
		return found[0] || null;
	}, rootSelector);
}

function watch(page) {
	const problems = [];
	page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text().slice(0, 200)); });
	page.on('pageerror', (e) => problems.push('page error: ' + String(e).slice(0, 200)));
	page.on('requestfailed', (r) => problems.push('failed request: ' + r.url().slice(0, 120) + ' (' + (r.failure() || {}).errorText + ')'));
	return problems;
}

async function brokenImages(page, sel) {
	return page.evaluate((s) => [...(document.querySelector(s) || document).querySelectorAll('img')]
		.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.getAttribute('src').slice(0, 80)), sel);
}

async function checkDeck(browser, file, minPx) {
	const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
	const problems = watch(page);
	await page.goto(urlOf(file));
	await page.waitForFunction(() => window.Reveal && window.Reveal.isReady(), null, { timeout: 20000 });
	const slides = await page.evaluate(() => window.Reveal.getSlides().map((s) => window.Reveal.getIndices(s)));
	let smallest = null, blank = [];
	for (let k = 0; k < slides.length; k++) {
		await page.evaluate((ix) => window.Reveal.slide(ix.h, ix.v || 0), slides[k]);
		await page.waitForTimeout(30);
		const empty = await page.evaluate(() => {
			const s = window.Reveal.getCurrentSlide();
			return !s.innerText.trim() && !s.querySelector('img, svg, pre, video, canvas');
		});
		if (empty) blank.push(k + 1);
		const m = await smallestSvgText(page, '.reveal .slides section.present');
		if (m && (!smallest || m.px < smallest.px)) smallest = { ...m, slide: k + 1 };
	}
	const broken = await brokenImages(page, '.reveal');
	await page.close();
	if (blank.length) problems.push('blank slide(s): ' + blank.join(', '));
	if (broken.length) problems.push('picture(s) that did not load: ' + broken.join(', '));
	if (smallest && smallest.px < minPx)
		problems.push(`diagram text drawn at ${smallest.px.toFixed(1)} px on slide ${smallest.slide} ("${smallest.text}" in ${smallest.name}); ${minPx} px needed at 1280x720`);
	return { problems, note: `${slides.length} slides` + (smallest ? `, smallest diagram text ${smallest.px.toFixed(1)} px (slide ${smallest.slide})` : ', no diagram') };
}

async function checkPage(browser, file, minPx) {
	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	const problems = watch(page);
	await page.goto(urlOf(file), { waitUntil: 'load' });
	const broken = await brokenImages(page, 'body');
	const smallest = await smallestSvgText(page, 'body');
	await page.close();
	if (broken.length) problems.push('picture(s) that did not load: ' + broken.join(', '));
	if (smallest && smallest.px < minPx)
		problems.push(`diagram text drawn at ${smallest.px.toFixed(1)} px ("${smallest.text}" in ${smallest.name}); ${minPx} px needed in an 880 px column`);
	return { problems, note: smallest ? `smallest diagram text ${smallest.px.toFixed(1)} px` : 'no diagram' };
}

async function printDeck(browser, file, outdir) {
	const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
	const problems = watch(page);
	// reveal.js lays the deck out as one page per slide when the URL asks.
	await page.goto(urlOf(file) + '?print-pdf');
	await page.waitForFunction(() => window.Reveal && window.Reveal.isReady(), null, { timeout: 20000 });
	await page.waitForTimeout(300);
	const total = await page.evaluate(() => window.Reveal.getTotalSlides());
	const out = path.join(outdir, path.basename(file, '.html') + '.pdf');
	await page.emulateMedia({ media: 'print' });
	await page.pdf({ path: out, width: '1280px', height: '720px', printBackground: true, preferCSSPageSize: true });
	await page.close();
	const pages = (fs.readFileSync(out, 'latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
	if (pages !== total) problems.push(`the PDF has ${pages} page(s) for ${total} slide(s)`);
	return { problems, note: `${out}: ${pages} page(s), ${total} slide(s)` };
}

async function main() {
	const [mode, arg, ...files] = process.argv.slice(2);
	if (!['decks', 'pages', 'pdf'].includes(mode) || !files.length) {
		console.error('usage: node check.js decks|pages MIN_PX FILE... | pdf OUTDIR DECK...');
		process.exit(2);
	}
	const server = await serve(process.cwd());
	base = 'http://127.0.0.1:' + server.address().port;
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
	let ok = 0, bad = 0;
	for (const f of files) {
		let r;
		try {
			r = mode === 'decks' ? await checkDeck(browser, f, Number(arg))
				: mode === 'pages' ? await checkPage(browser, f, Number(arg))
					: await printDeck(browser, f, arg);
		} catch (e) {
			r = { problems: [String(e).split('\n')[0]], note: '' };
		}
		if (r.problems.length) {
			bad++;
			console.log(`  FAILED  ${f}: ${r.note}`);
			for (const p of r.problems) console.log(`          | ${p}`);
		} else {
			ok++;
			console.log(`  ok      ${f}: ${r.note}`);
		}
	}
	await browser.close();
	server.close();
	console.log(`${ok} ok, ${bad} failed`);
	process.exit(bad ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
