/* SPDX-License-Identifier: MIT */
/*
 * Interactive SVG flamegraph of a profile_tree.
 *
 * The root ("all") is the bottom row and stacks grow upward. Every node is
 * a <g> holding a <title> tooltip, a <rect> whose width is proportional to
 * the node's weight, and a <text> label; the embedded script (zoom, search,
 * details line) reads those attributes back, so no data blob is needed.
 *
 * Two passes over the tree, both linear: the first finds the depth of the
 * visible rows (the height is needed before the first element) and counts
 * the frames too narrow to draw; the second streams the frames out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph_js.h"
#include "flamegraph_svg.h"
#include "folded.h"

#define DEFAULT_WIDTH	1200
#define MIN_WIDTH	200
#define MAX_WIDTH	100000
#define XPAD		10	/* left and right margin, px */
#define FRAME_H		16	/* row pitch; rects are 1 px shorter */
#define TITLE_Y		24
#define LINE_H		18	/* subtitle and note lines under the title */
#define BOTTOM_H	30	/* room for the details line */
#define CHAR_W		7	/* mean Verdana advance at 12 px (~0.59 em) */
#define MIN_PX		0.1	/* narrower frames are not written */
#define NAME_BYTES	4096

struct svg_ctx {
	FILE *f;
	const struct profile_tree *t;
	const struct svg_opts *o;
	uint64_t total;		/* weight of the root */
	unsigned int width;
	double fw;		/* px available to the root frame */
	unsigned int top;	/* y of the top row */
	uint32_t maxdepth;	/* deepest visible row; root is 0 */
	uint64_t elided;	/* non-empty frames narrower than MIN_PX */
	char raw[NAME_BYTES];
	char name[NAME_BYTES];
};

/* ---- text: sanitizing, escaping, numbers ---- */

/* Length of the valid UTF-8 sequence at s that XML 1.0 accepts as a
 * character and that is not a control character; 0 if there is none. */
static size_t utf8_char(const unsigned char *s)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		cp = s[0] & 0x1f, len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		cp = s[0] & 0x0f, len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		cp = s[0] & 0x07, len = 4;
	else
		return 0;
	/* Stops at the NUL, which is not a continuation byte. */
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, out of range or a surrogate */
	if (cp <= 0x9f || cp == 0xfffe || cp == 0xffff)
		return 0;	/* C1 controls; non-characters XML rejects */
	return len;
}

/*
 * Copies s into out dropping control characters and bytes that are not
 * valid UTF-8: names come from untrusted binaries, and a single such byte
 * would make the whole document unreadable as XML.
 */
static void clean_utf8(const char *s, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	while (*p) {
		size_t n = utf8_char(p);

		if (!n) {
			p++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

/* Writes s[0..len) with the five XML special characters escaped. */
static void xml_put(FILE *f, const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		const char *esc;

		switch (s[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&apos;"; break;
		default: continue;
		}
		fwrite(s + start, 1, i - start, f);
		fputs(esc, f);
		start = i + 1;
	}
	fwrite(s + start, 1, len - start, f);
}

static void xml_puts(FILE *f, const char *s)
{
	char clean[NAME_BYTES];

	clean_utf8(s, clean, sizeof(clean));
	xml_put(f, clean, strlen(clean));
}

/* Bytes taken by the first n characters of valid UTF-8 s. */
static size_t utf8_prefix(const char *s, size_t n)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n-- == 0)
			break;
	return i;
}

static size_t utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* printf's %f follows LC_NUMERIC and could write "1,5"; SVG needs a dot. */
static const char *fixed(char buf[32], double v, bool three)
{
	uint64_t s = three ? 1000 : 100;
	uint64_t q = v > 0 ? (uint64_t)(v * (double)s + 0.5) : 0; /* NaN too */

	snprintf(buf, 32, "%" PRIu64 ".%0*" PRIu64, q / s, three ? 3 : 2,
		 q % s);
	return buf;
}

/* v / div with two decimals, in integers so that huge v cannot overflow. */
static void put_ratio(FILE *f, uint64_t v, uint64_t div, const char *suffix)
{
	uint64_t hundredths = v / div * 100 + (v % div * 100 + div / 2) / div;

	fprintf(f, "%" PRIu64 ".%02" PRIu64 "%s", hundredths / 100,
		hundredths % 100, suffix);
}

/*
 * "1.23 s", "4.50 ms", "17 ns": a duration a reader takes in at a glance.
 * The limits sit where rounding to hundredths would print "1000.00 us".
 */
static void put_duration(FILE *f, uint64_t ns)
{
	if (ns < 1000)
		fprintf(f, "%" PRIu64 " ns", ns);
	else if (ns < 999995)
		put_ratio(f, ns, 1000, " us");
	else if (ns < 999995000)
		put_ratio(f, ns, 1000000, " ms");
	else
		put_ratio(f, ns, 1000000000, " s");
}

static void put_value(const struct svg_ctx *c, uint64_t v)
{
	const char *unit = c->o->unit ? c->o->unit : "samples";

	if (!strcmp(unit, "ns")) {
		put_duration(c->f, v);
		return;
	}
	fprintf(c->f, "%" PRIu64 " ", v);
	xml_puts(c->f, unit);
}

/* ---- frames ---- */

static uint64_t node_weight(const struct svg_ctx *c,
			    const struct profile_node *n)
{
	return values_sum(n->total, c->o->mask);
}

static bool is_visible(const struct svg_ctx *c, uint64_t w)
{
	return (double)w * c->fw >= MIN_PX * (double)c->total;
}

/* Name as shown (kernel frames with "_[k]"), cleaned, into c->name. */
static const struct profile_frame *load_name(struct svg_ctx *c,
					     const struct profile_node *n)
{
	const struct profile_frame *fr = NULL;

	if (n == c->t->root) {
		strcpy(c->raw, "all");
	} else if (n->frame >= profile__nframes(c->t->profile)) {
		strcpy(c->raw, "[?]");
	} else {
		fr = profile__frame_at(c->t->profile, n->frame);
		c->raw[0] = '\0';
		if (frame__format(fr, c->raw, sizeof(c->raw)) < 0)
			snprintf(c->raw, sizeof(c->raw), "%s", fr->name);
		c->raw[sizeof(c->raw) - 1] = '\0';
	}
	clean_utf8(c->raw, c->name, sizeof(c->name));
	return fr;
}

/* FNV-1a: the same name always gets the same shade across graphs. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static bool is_offcpu(const struct svg_ctx *c, const struct profile_node *n,
		      uint64_t w)
{
	int i = c->o->offcpu_value;

	/* off > w / 2 is off * 2 > w in integers, without the overflow. */
	return i >= 0 && i < PROFILE_MAX_VALUES && n->total[i] > w / 2;
}

/* Growth in [-1, 1]: (now - before) / max(now, before). */
static double growth(const struct svg_ctx *c, const struct profile_node *n,
		     uint64_t w)
{
	uint64_t base = values_sum(n->total, c->o->baseline_mask);
	uint64_t most = w > base ? w : base;

	return most ? ((double)w - (double)base) / (double)most : 0;
}

/* Diff: white where equal (within 2%), red as it grew, blue as it shrank. */
static void diff_color(const struct svg_ctx *c, const struct profile_node *n,
		       uint64_t w, unsigned int rgb[3])
{
	double g = growth(c, n, w), k;

	if (g > -0.02 && g < 0.02) {
		rgb[0] = rgb[1] = rgb[2] = 235;
		return;
	}
	k = g < 0 ? -g : g;
	k = 0.25 + 0.75 * k;
	if (g > 0) {
		rgb[0] = 255;
		rgb[1] = rgb[2] = (unsigned int)(230 * (1 - k));
	} else {
		rgb[2] = 255;
		rgb[0] = rgb[1] = (unsigned int)(230 * (1 - k));
	}
}

/* Hue carries the meaning (warm = user, amber = kernel, gray = synthetic,
 * blue = off-CPU); the hash only varies the shade within it. */
static void frame_color(const struct svg_ctx *c, const struct profile_node *n,
			const struct profile_frame *fr, uint64_t w,
			unsigned int rgb[3])
{
	uint32_t h = name_hash(c->name);
	double a = (h & 0xff) / 255.0, b = (h >> 8 & 0xff) / 255.0;
	double d = (h >> 16 & 0xff) / 255.0;
	enum frame_kind kind = fr ? fr->kind : FRAME_PROCESS;

	if (c->o->baseline_mask) {
		diff_color(c, n, w, rgb);
	} else if (kind == FRAME_GROUP) {
		/* Pods and containers: neutral, whatever their threads did. */
		rgb[0] = 150 + 30 * a, rgb[1] = 190 + 30 * a, rgb[2] = 150 + 30 * a;
	} else if (is_offcpu(c, n, w)) {
		rgb[0] = 40 + 60 * a, rgb[1] = 110 + 70 * b, rgb[2] = 200 + 55 * d;
	} else if (kind == FRAME_USER) {
		rgb[0] = 215 + 40 * a, rgb[1] = 40 + 110 * b, rgb[2] = 20 + 40 * d;
	} else if (kind == FRAME_KERNEL) {
		rgb[0] = 235 + 20 * a, rgb[1] = 155 + 50 * b, rgb[2] = 30 + 30 * d;
	} else {
		unsigned int g = (kind == FRAME_MARKER ? 200 : 170) + 30 * a;

		rgb[0] = rgb[1] = rgb[2] = g;
	}
}

/* Label as wide as fits: nothing under 3 characters, else cut with "..". */
static void put_label(FILE *f, const char *name, double w)
{
	double fit = (w - 6) / CHAR_W;	/* 3 px padding each side */
	size_t n = fit > 0 ? (size_t)fit : 0;

	if (n < 3)
		return;
	if (utf8_count(name) <= n) {
		xml_put(f, name, strlen(name));
		return;
	}
	xml_put(f, name, utf8_prefix(name, n - 2));
	fputs("..", f);
}

static void put_frame(struct svg_ctx *c, const struct profile_node *n,
		      uint32_t depth, uint64_t x, uint64_t w)
{
	const struct profile_frame *fr = load_name(c, n);
	double px = XPAD + (double)x * c->fw / (double)c->total;
	double pw = (double)w * c->fw / (double)c->total;
	unsigned int y = c->top + (c->maxdepth - depth) * FRAME_H;
	unsigned int rgb[3];
	char b1[32], b2[32];

	frame_color(c, n, fr, w, rgb);
	fputs("<g><title>", c->f);
	xml_put(c->f, c->name, strlen(c->name));
	fputs(" (", c->f);
	put_value(c, w);
	fputs(", ", c->f);
	fprintf(c->f, "%s%%", fixed(b1, 100.0 * (double)w / (double)c->total, false));
	if (c->o->baseline_mask) {
		uint64_t base = values_sum(n->total, c->o->baseline_mask);

		fputs("; baseline ", c->f);
		put_value(c, base);
		if (base)
			fprintf(c->f, ", %s%s%%", w >= base ? "+" : "",
				fixed(b2, 100.0 * ((double)w - (double)base) /
				      (double)base, false));
		else
			fputs(", new", c->f);
	}
	fputs(")</title>", c->f);
	fprintf(c->f, "<rect x=\"%s\" y=\"%u\" width=\"%s\" height=\"%d\" "
		"fill=\"rgb(%u,%u,%u)\"/>", fixed(b1, px, true), y,
		fixed(b2, pw, true), FRAME_H - 1, rgb[0], rgb[1], rgb[2]);
	fprintf(c->f, "<text x=\"%s\" y=\"%u\">", fixed(b1, px + 3, false),
		y + FRAME_H - 4);
	put_label(c->f, c->name, pw);
	fputs("</text></g>\n", c->f);
}

/* ---- tree walk ---- */

struct walk_pos {
	const struct profile_node *n;
	uint64_t cx;		/* left edge of the next child, in weight */
	uint32_t next;		/* index of the next child */
};

typedef bool (*visit_fn)(struct svg_ctx *c, const struct profile_node *n,
			 uint32_t depth, uint64_t x, uint64_t w);

static int push(struct walk_pos **st, size_t *len, size_t *cap,
		const struct profile_node *n, uint64_t x)
{
	if (*len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct walk_pos *p = realloc(*st, ncap * sizeof(**st));

		if (!p)
			return -ENOMEM;
		*st = p;
		*cap = ncap;
	}
	(*st)[(*len)++] = (struct walk_pos){ .n = n, .cx = x };
	return 0;
}

/*
 * Depth-first, children left to right; descends where visit says so.
 * An explicit stack because the depth comes from recorded stacks, and
 * the x of each child is its left sibling's x plus that sibling's weight.
 */
static int walk(struct svg_ctx *c, visit_fn visit)
{
	struct walk_pos *st = NULL;
	size_t len = 0, cap = 0;
	int err = 0;

	if (visit(c, c->t->root, 0, 0, c->total))
		err = push(&st, &len, &cap, c->t->root, 0);
	while (!err && len) {
		struct walk_pos *top = &st[len - 1];
		const struct profile_node *ch;
		uint64_t x = top->cx, w;

		if (top->next >= top->n->nchildren) {
			len--;
			continue;
		}
		ch = top->n->children[top->next++];
		w = node_weight(c, ch);
		top->cx += w;
		if (w && visit(c, ch, (uint32_t)len, x, w))
			err = push(&st, &len, &cap, ch, x);
	}
	free(st);
	return err;
}

/* Pass 1: goes into hidden subtrees too, so every hidden frame counts. */
static bool measure(struct svg_ctx *c, const struct profile_node *n,
		    uint32_t depth, uint64_t x, uint64_t w)
{
	(void)n;
	(void)x;
	if (!is_visible(c, w))
		c->elided++;
	else if (depth > c->maxdepth)
		c->maxdepth = depth;
	return true;
}

/* Pass 2: a child is never wider than its parent, so hidden subtrees end. */
static bool emit(struct svg_ctx *c, const struct profile_node *n,
		 uint32_t depth, uint64_t x, uint64_t w)
{
	if (!is_visible(c, w))
		return false;
	put_frame(c, n, depth, x, w);
	return true;
}

/* ---- document ---- */

static const char svg_style[] =
	"text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 17px; }\n"
	"#note { fill: #555; }\n"
	".btn { cursor: pointer; fill: #1f4fbf; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames g:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	"#frames text { pointer-events: none; }\n"
	".dim rect { fill-opacity: 0.5; }\n"
	".dim text { fill: #666; }\n";

/* One line of notes under the title: legend and elided count. */
static bool has_note(const struct svg_ctx *c)
{
	return c->o->offcpu_value >= 0 || c->elided || c->o->baseline_mask;
}

static void put_note(const struct svg_ctx *c, unsigned int y)
{
	const char *sep = "";

	fprintf(c->f, "<text id=\"note\" x=\"%u\" y=\"%u\" "
		"text-anchor=\"middle\">", c->width / 2, y);
	if (c->o->baseline_mask) {
		fputs("differential: red = grew, blue = shrank against the baseline (scaled to the same duration); width = now", c->f);
		sep = "; ";
	} else if (c->o->offcpu_value >= 0) {
		fputs("red/orange = on-CPU, blue = off-CPU", c->f);
		sep = "; ";
	}
	if (c->elided)
		fprintf(c->f, "%s%" PRIu64 " tiny frames elided (under 0.1 px)",
			sep, c->elided);
	fputs("</text>\n", c->f);
}

static void put_header(struct svg_ctx *c, unsigned int height)
{
	FILE *f = c->f;
	unsigned int y = TITLE_Y;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
		"onload=\"init()\" data-x0=\"%d\" data-fw=\"%u\" "
		"data-cw=\"%d\">\n", c->width, height, c->width, height,
		XPAD, c->width - 2 * XPAD, CHAR_W);
	fprintf(f, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n",
		svg_style);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n",
		flamegraph_js);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" "
		"fill=\"#f6f6f0\"/>\n", c->width, height);
	fprintf(f, "<text id=\"title\" x=\"%u\" y=\"%u\" "
		"text-anchor=\"middle\">", c->width / 2, y);
	xml_puts(f, c->o->title ? c->o->title : "Flame Graph");
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"unzoom\" class=\"btn\" x=\"%d\" y=\"%u\" "
		"style=\"visibility:hidden\">Reset Zoom</text>\n", XPAD, y);
	fprintf(f, "<text id=\"search\" class=\"btn\" x=\"%u\" y=\"%u\" "
		"text-anchor=\"end\">Search</text>\n", c->width - XPAD, y);
	if (c->o->subtitle) {
		y += LINE_H;
		fprintf(f, "<text id=\"subtitle\" x=\"%u\" y=\"%u\" "
			"text-anchor=\"middle\">", c->width / 2, y);
		xml_puts(f, c->o->subtitle);
		fputs("</text>\n", f);
	}
	if (has_note(c))
		put_note(c, y += LINE_H);
}

static void put_footer(const struct svg_ctx *c, unsigned int height)
{
	fprintf(c->f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
		"<text id=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\">"
		"</text>\n</svg>\n", XPAD, height - 10, c->width - XPAD,
		height - 10);
}

static unsigned int header_height(const struct svg_ctx *c)
{
	unsigned int lines = !!c->o->subtitle + has_note(c);

	return TITLE_Y + lines * LINE_H + 12;
}

int svg__write(const struct profile_tree *t, const struct svg_opts *o,
	       FILE *f)
{
	struct svg_ctx *c;
	unsigned int height;
	int err = 0;

	if (!t || !t->root || !o || !f)
		return -EINVAL;
	c = calloc(1, sizeof(*c));	/* two name buffers: too big for stack */
	if (!c)
		return -ENOMEM;
	*c = (struct svg_ctx){ .f = f, .t = t, .o = o };
	c->width = o->width ? o->width : DEFAULT_WIDTH;
	c->width = c->width < MIN_WIDTH ? MIN_WIDTH :
		   c->width > MAX_WIDTH ? MAX_WIDTH : c->width;
	c->fw = c->width - 2 * XPAD;
	c->total = node_weight(c, t->root);
	if (c->total)
		err = walk(c, measure);
	c->top = header_height(c);
	height = c->top + (c->maxdepth + 1) * FRAME_H + BOTTOM_H;
	if (!err) {
		put_header(c, height);
		fputs("<g id=\"frames\">\n", f);
		if (c->total)
			err = walk(c, emit);
		fputs("</g>\n", f);
		if (!c->total)
			fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">"
				"No samples</text>\n", c->width / 2,
				c->top + FRAME_H - 4);
		put_footer(c, height);
	}
	free(c);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
	return err;
}
