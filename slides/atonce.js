/*
 * atonce.js: fit code listings to their slide (slides.sh embeds this file
 * in every deck, after reveal.js).
 *
 * A listing starts at the size atonce.css gives it (20px). When it is taller
 * than the room left on its slide, or wider than the slide, its type shrinks
 * just enough to fit, but never below MIN_PX: below that it keeps MIN_PX and
 * scrolls inside its box. So a 12-line excerpt stays big and a 35-line
 * one still fits on the screen, without the deck's author counting lines.
 * A picture that atonce.lua stretched (div.atonce-figure, sized by reveal.js
 * to the room left on the slide) is given the largest size that keeps its
 * proportions, with its caption right under it, both centred in that room.
 * Then, as a last resort, a slide whose content still runs off the bottom
 * (a long table, too many bullets) has all its type scaled down a little,
 * to no less than MIN_SCALE.
 * Slides are measured when reveal.js first shows them (hidden slides have no
 * size), and all at once in the print view (?print-pdf).
 */
(function () {
	'use strict';

	var MIN_PX = 13;
	var SLACK_PX = 24;          /* breathing room at the bottom of the slide */
	var MIN_SCALE = 0.7;

	function slideHeight() {
		return Reveal.getConfig().height || 720;
	}

	/* Shrink the listings of one slide until the slide's content fits. */
	function fitSlide(section) {
		if (!section || section.dataset.atonceFitted === 'yes')
			return;
		if (section.offsetHeight === 0)         /* not displayed yet */
			return;
		var pres = section.querySelectorAll('pre');
		var height = slideHeight();
		for (var round = 0; round < 2 && pres.length > 0; round++) {
			for (var i = 0; i < pres.length; i++)
				fitOne(pres[i], section, height);
		}
		shrinkSlide(section, height);
		sizeFigures(section);
		section.dataset.atonceFitted = 'yes';
	}

	/* How far, in slide pixels, the slide's content reaches down. */
	function contentBottom(section) {
		var last = section.lastElementChild;
		while (last && (last.tagName === 'ASIDE' || last.offsetHeight === 0))
			last = last.previousElementSibling;     /* speaker notes */
		if (!last || section.offsetHeight === 0)
			return 0;
		var top = section.getBoundingClientRect();
		var scale = top.height / section.offsetHeight;
		if (!(scale > 0))
			scale = 1;
		return (last.getBoundingClientRect().bottom - top.top) / scale;
	}

	function shrinkSlide(section, height) {
		if (section.querySelector('.r-stretch'))
			return;         /* reveal.js already sized it to fit */
		var scale = 1;
		while (contentBottom(section) > height - SLACK_PX && scale > MIN_SCALE) {
			scale = Math.max(MIN_SCALE, scale - 0.05);
			section.style.fontSize = scale + 'em';
		}
	}

	/* The slide's own child that holds el (el itself when it is one). */
	function topLevel(el, section) {
		while (el.parentElement && el.parentElement !== section)
			el = el.parentElement;
		return el;
	}

	function fitOne(pre, section, height) {
		var code = pre.querySelector('code') || pre;
		var size = parseFloat(window.getComputedStyle(pre).fontSize);
		/* Measure in the slide's own pixels (reveal.js scales the slide
		 * with a transform or zoom, and lays it out again to print). */
		var box = pre.getBoundingClientRect();
		var scale = pre.offsetHeight > 0 ? box.height / pre.offsetHeight : 1;
		if (!(scale > 0))
			scale = 1;
		var top = (box.top - section.getBoundingClientRect().top) / scale;
		/* What follows the listing on the slide needs room too. */
		var holder = topLevel(pre, section);
		var last = section.lastElementChild;
		var after = 0;
		if (last && holder !== last && holder.parentElement === section)
			after = (last.getBoundingClientRect().bottom -
				holder.getBoundingClientRect().bottom) / scale;
		var room = height - top - after - SLACK_PX;
		var chrome = pre.offsetHeight - code.clientHeight; /* borders, padding */
		var needH = code.scrollHeight + chrome;
		var k = Math.min(1, room / needH,
			code.clientWidth / Math.max(1, code.scrollWidth));
		if (k >= 1)
			return;
		var px = Math.max(MIN_PX, Math.floor(size * k * 10) / 10);
		pre.style.fontSize = px + 'px';
		if (px === MIN_PX && code.scrollHeight + chrome > room)
			code.style.maxHeight = Math.max(80, room - chrome) + 'px';
	}

	/* Size the stretched picture of a slide to its room (see above). */
	function sizeFigures(section) {
		var figs = section.querySelectorAll('.atonce-figure');
		for (var i = 0; i < figs.length; i++)
			sizeFigure(figs[i]);
		var sized = section.querySelectorAll('img[height]');
		for (var j = 0; j < sized.length; j++)
			capHeight(sized[j]);
	}

	/* True when img is decoded; otherwise false, and fn will be called
	 * once it is (reveal.js loads pictures lazily). */
	function loadedOrLater(img, fn) {
		if (img.complete && img.naturalWidth)
			return true;
		img.addEventListener('load', fn, { once: true });
		return false;
	}

	/* A picture given a height by its author ({height=400px}) but too wide
	 * for the slide at that height: max-width narrows it, so lower its
	 * height to match instead of leaving empty bands around it. */
	function capHeight(img) {
		if (!loadedOrLater(img, function () { capHeight(img); }))
			return;
		var want = parseFloat(img.getAttribute('height'));
		var ratio = img.naturalWidth / img.naturalHeight;
		var roomW = img.parentElement ? img.parentElement.clientWidth : 0;
		if (!(want > 0) || !(ratio > 0) || roomW <= 0)
			return;
		img.style.height = want * ratio > roomW ?
			Math.floor(roomW / ratio) + 'px' : '';
	}

	function sizeFigure(fig) {
		var img = fig.querySelector('img');
		if (!img)
			return;
		if (!loadedOrLater(img, function () { sizeFigure(fig); }))
			return;
		var cap = fig.querySelector('figcaption');
		var capH = cap ? cap.offsetHeight + 8 : 0;
		var roomW = fig.clientWidth;
		var roomH = fig.clientHeight - capH - 8;
		if (roomW <= 0 || roomH <= 0)
			return;
		var ratio = img.naturalWidth / img.naturalHeight;
		var w = Math.min(roomW, roomH * ratio);
		img.style.width = Math.floor(w) + 'px';
		img.style.height = Math.floor(w / ratio) + 'px';
		img.style.flex = 'none';
		fig.classList.add('atonce-sized');
	}

	function fitVisible() {
		var slides = document.querySelectorAll('.reveal .slides section');
		for (var i = 0; i < slides.length; i++)
			fitSlide(slides[i]);
	}

	/* Forget what was measured on a slide, so that it is measured again. */
	function resetSlide(section) {
		delete section.dataset.atonceFitted;
		section.style.fontSize = '';
		var pres = section.querySelectorAll('pre');
		for (var j = 0; j < pres.length; j++) {
			pres[j].style.fontSize = '';
			var c = pres[j].querySelector('code');
			if (c)
				c.style.maxHeight = '';
		}
	}

	function refitAll() {
		var done = document.querySelectorAll('[data-atonce-fitted]');
		for (var i = 0; i < done.length; i++)
			resetSlide(done[i]);
		fitVisible();
	}

	function start() {
		fitVisible();
		Reveal.on('slidechanged', function (e) {
			fitSlide(e.currentSlide);
			fitVisible();
			/* reveal.js sizes stretched pictures again on every change. */
			if (e.currentSlide)
				sizeFigures(e.currentSlide);
		});
		Reveal.on('resize', function () {
			fitVisible();
			sizeFigures(Reveal.getCurrentSlide());
		});
		/* ?print-pdf: reveal.js lays every slide out again for paper. */
		Reveal.on('pdf-ready', refitAll);
		/* The code font may arrive after the first layout. */
		if (document.fonts && document.fonts.ready)
			document.fonts.ready.then(refitAll);
	}

	if (typeof Reveal === 'undefined')
		return;
	if (Reveal.isReady())
		start();
	else
		Reveal.on('ready', start);
})();
