// SPDX-License-Identifier: MIT
/* Punycode decoding (see punycode.h), from RFC 3492's description. */
#include <errno.h>
#include <string.h>

#include "punycode.h"

/* RFC 3492's parameters for Punycode. */
#define BASE		36
#define TMIN		1
#define TMAX		26
#define SKEW		38
#define DAMP		700
#define INITIAL_BIAS	72
#define INITIAL_N	0x80
/* Bounds every sum below, far under UINT64_MAX. */
#define LIMIT		UINT32_MAX

static int digit_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

static uint64_t adapt(uint64_t delta, uint64_t points, int first)
{
	uint64_t k = 0;

	delta /= first ? DAMP : 2;
	delta += delta / points;
	while (delta > (BASE - TMIN) * TMAX / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

/* One variable-length integer of [*p, end) added to *at (scaled by its weights). */
static int read_delta(const char **p, const char *end, uint64_t bias, uint64_t *at)
{
	uint64_t w = 1, t;

	for (uint64_t k = BASE;; k += BASE) {
		int digit = *p < end ? digit_value(*(*p)++) : -1;

		if (digit < 0 || (uint64_t)digit > (LIMIT - *at) / w)
			return -EINVAL;
		*at += (uint64_t)digit * w;
		t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
		if ((uint64_t)digit < t)
			return 0;
		if (w > LIMIT / (BASE - t))
			return -EINVAL;
		w *= BASE - t;
	}
}

int punycode__decode(const char *s, size_t n, char delim, uint32_t *cps,
		     size_t max, size_t *ncps)
{
	const char *p = s, *end = s + n, *basic_end = memrchr(s, delim, n);
	uint64_t code = INITIAL_N, at = 0, bias = INITIAL_BIAS, old;
	size_t count = 0;
	int err;

	if (basic_end) {
		if ((size_t)(basic_end - s) > max)
			return -E2BIG;
		while (p < basic_end) {
			if ((unsigned char)*p >= 0x80)
				return -EINVAL;
			cps[count++] = (unsigned char)*p++;
		}
		p++;
	}
	while (p < end) {
		old = at;
		err = read_delta(&p, end, bias, &at);
		if (err)
			return err;
		bias = adapt(at - old, count + 1, old == 0);
		code += at / (count + 1);
		at %= count + 1;
		if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
			return -EINVAL;
		if (count == max)
			return -E2BIG;
		memmove(cps + at + 1, cps + at, (count - at) * sizeof(*cps));
		cps[at++] = (uint32_t)code;
		count++;
	}
	*ncps = count;
	return 0;
}
