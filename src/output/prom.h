/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (format 0.0.4). A page gathers samples in any
 * order and writes each family once: # HELP, # TYPE, then its samples.
 *
 * A counter is described once, where it is defined (struct stat_desc): the
 * words summary.txt shows, and the family and labels /metrics shows.
 */
#ifndef SYSSCOPE_PROM_H
#define SYSSCOPE_PROM_H

#include <stddef.h>	/* offsetof */
#include <stdint.h>
#include <stdio.h>

enum prom_type { PROM_COUNTER, PROM_GAUGE };

/* snake_case, with its unit, and _total for a counter. */
struct prom_family {
	const char *name;	/* "sysscope_offcpu_switches_total" */
	enum prom_type type;
	const char *help;
};

/* One counter of a statistics table. */
struct stat_desc {
	const char *text;			/* summary.txt: "off-CPU: switches" */
	const struct prom_family *family;	/* /metrics; NULL: not there */
	const char *labels;			/* "reason=\"map_full\"", or NULL */
};

/*
 * A counter kept in a uint64_t field of a struct: the same, where it is,
 * and, if not 0, what /metrics multiplies it by (1e-9: ns to seconds).
 */
struct stat_field {
	struct stat_desc desc;
	size_t offset;
	double scale;
};

#define STAT_FIELD(type, field, text, family, labels) \
	{ { text, family, labels }, offsetof(type, field), 0 }

/* The value of a stat_field in the struct at base. */
static inline uint64_t stat_field__get(const struct stat_field *f,
				       const void *base)
{
	return *(const uint64_t *)((const char *)base + f->offset);
}

struct prom_page;

struct prom_page *prom_page__new(void);
void prom_page__free(struct prom_page *p);

/*
 * One sample of family f; labels: 'key="value",...' with values escaped
 * (prom__write_label_value), or NULL. 0 or -errno (-EEXIST: another family
 * of the same name).
 */
int prom_page__add(struct prom_page *p, const struct prom_family *f,
		   const char *labels, double value);
/* Family f, written even if it has no sample. 0 or -errno. */
int prom_page__declare(struct prom_page *p, const struct prom_family *f);
/* values[i] under desc[i], for i < n. 0 or -errno. */
int prom_page__add_stats(struct prom_page *p, const struct stat_desc *desc,
			 const uint64_t *values, size_t n);
/* Each field of fields[n] as found in the struct at base. 0 or -errno. */
int prom_page__add_fields(struct prom_page *p, const struct stat_field *fields,
			  size_t n, const void *base);

/* Every family in the order first added, then its samples. 0 or -errno. */
int prom_page__write(const struct prom_page *p, FILE *f);

/* Writes s as a label value: \\, \" and \n escaped. */
void prom__write_label_value(FILE *f, const char *s);

#endif
