// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what sysscope reads back from ClickHouse or its spool
 * (src/store/): the input as a batch (ch_batch__parse) and as the rows of
 * a query answer rebuilt into a profile (ch_query__add_rows). Neither may
 * read past the input; a profile built is consistent with its row count.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ch_batch.h"
#include "ch_query.h"
#include "fuzz_common.h"
#include "profile.h"
#include "record.h"

static const struct profile_value_type types[] = {
	{ "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" },
};

static const char *const keys[LABEL_MAX] = {
	[LABEL_REASON] = "reason", [LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod", [LABEL_NAMESPACE] = "namespace",
	[LABEL_CONTAINER_ID] = "container_id",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past it. */
	uint8_t *copy = malloc(size ? size : 1);
	struct ch_batch_view v;
	struct profile *p;
	uint64_t rows = 0;
	int err;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (!ch_batch__parse(copy, size, &v)) {
		FUZZ_CHECK(v.total <= size);
		for (int t = 0; t < CH_TABLES; t++)
			FUZZ_CHECK(v.body[t] >= copy && v.body[t] + v.len[t] <= copy + size);
	}
	p = profile__new(types, 2);
	if (p && !profile__set_label_keys(p, keys, LABEL_MAX)) {
		err = ch_query__add_rows(p, copy, size, 0, 1.0, &rows);
		FUZZ_CHECK(err == 0 || err == -EBADMSG || err == -ENOMEM ||
			   err == -EINVAL || err == -E2BIG);
		if (!err)
			FUZZ_CHECK(profile__nsamples(p) <= rows);
	}
	profile__free(p);
	free(copy);
	return 0;
}
