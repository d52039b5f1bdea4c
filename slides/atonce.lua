-- atonce.lua: the pandoc Lua filter every deck goes through (slides.sh adds it).
--
-- It gives the decks their shape without the authors having to think about it:
--   * `# Section` becomes a section-divider slide of its own (a dark slide with
--     a big title) instead of the top of a vertical stack: every slide is then
--     one step to the right, the slide numbers and URLs are simple (#/7), and
--     printing goes in order;
--   * a picture that stands alone in a paragraph and has no width or height
--     of its own is stretched to fill what is left of its slide (reveal.js
--     `r-stretch`), keeping its proportions: no tiny Graphviz drawings;
--   * the deck's title becomes a small footer on every slide.
-- Written for pandoc 2.17 (Debian 12); also fine with pandoc 3.

local DIVIDER_BACKGROUND = '#1d3557'

-- `# Title` -> `## Title {.section-divider data-background-color=...}`
function Header(h)
	if h.level ~= 1 then
		return nil
	end
	h.level = 2
	h.classes:insert('section-divider')
	if not h.attributes['data-background-color'] then
		h.attributes['data-background-color'] = DIVIDER_BACKGROUND
	end
	return h
end

-- The one image of a paragraph made of a single image (a figure), or nil.
local function lone_image(block)
	local inlines
	if block.t == 'Para' or block.t == 'Plain' then
		inlines = block.content
	elseif block.t == 'Figure' then             -- pandoc >= 3
		if #block.content ~= 1 then
			return nil
		end
		return lone_image(block.content[1])
	else
		return nil
	end
	if #inlines ~= 1 or inlines[1].t ~= 'Image' then
		return nil
	end
	return inlines[1]
end

local function has_size(img)
	return img.attributes.width or img.attributes.height or
		img.attributes.style
end

-- Wrap the stretchable figure of each slide in <div class="r-stretch">
-- (reveal.js sizes that div to the slide's remaining height; atonce.css
-- makes the picture fill it). Only when the slide has exactly one picture
-- and the author gave it no size.
local function stretch_figures(blocks)
	local out = pandoc.List()
	local slide = pandoc.List()

	local function flush()
		local candidates = {}
		for i, b in ipairs(slide) do
			if lone_image(b) then
				table.insert(candidates, i)
			end
		end
		if #candidates == 1 then
			local i = candidates[1]
			local img = lone_image(slide[i])
			if not has_size(img) and not img.classes:includes('no-stretch') then
				slide[i] = pandoc.Div({slide[i]},
					pandoc.Attr('', {'r-stretch', 'atonce-figure'}))
			end
		end
		out:extend(slide)
		slide = pandoc.List()
	end

	for _, b in ipairs(blocks) do
		if b.t == 'Header' and b.level <= 2 or b.t == 'HorizontalRule' then
			flush()
		end
		slide:insert(b)
	end
	flush()
	return out
end

local function footer(meta)
	if not meta.title then
		return nil
	end
	local text = pandoc.utils.stringify(meta.title)
	return pandoc.Div({pandoc.Plain({pandoc.Str(text)})},
		pandoc.Attr('', {'atonce-footer'}, {['aria-hidden'] = 'true'}))
end

function Pandoc(doc)
	doc.blocks = stretch_figures(doc.blocks)
	local f = footer(doc.meta)
	if f then
		local before = doc.meta['include-before']
		local list = pandoc.List()
		if before then
			if before.t == 'MetaList' or (type(before) == 'table' and before.t == nil) then
				list:extend(before)
			else
				list:insert(before)
			end
		end
		list:insert(pandoc.MetaBlocks({f}))
		doc.meta['include-before'] = pandoc.MetaList(list)
	end
	return doc
end
