// SPDX-License-Identifier: MIT
/*
 * Prometheus text: samples gathered by family, each family written once
 * with its HELP and TYPE (prom.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "prom.h"

struct prom_sample {
	size_t family;		/* index in families */
	char *labels;		/* NULL: none */
	double value;
};

struct prom_page {
	const struct prom_family **families;
	size_t nfamilies, families_cap;
	struct prom_sample *samples;
	size_t nsamples, samples_cap;
};

/* Grows *v (of *cap elements of size) to hold n + 1. 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 32;
	void *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

struct prom_page *prom_page__new(void)
{
	return calloc(1, sizeof(struct prom_page));
}

void prom_page__free(struct prom_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsamples; i++)
		free(p->samples[i].labels);
	free(p->samples);
	free(p->families);
	free(p);
}

/* The index of f, added if new; -EEXIST for a second family of its name. */
static long family_index(struct prom_page *p, const struct prom_family *f)
{
	int err;

	for (size_t i = 0; i < p->nfamilies; i++) {
		if (p->families[i] == f)
			return (long)i;
		if (!strcmp(p->families[i]->name, f->name))
			return -EEXIST;
	}
	err = grow((void **)&p->families, &p->families_cap, p->nfamilies,
		   sizeof(*p->families));
	if (err)
		return err;
	p->families[p->nfamilies] = f;
	return (long)p->nfamilies++;
}

int prom_page__add(struct prom_page *p, const struct prom_family *f,
		   const char *labels, double value)
{
	long fam = family_index(p, f);
	char *l = NULL;
	int err;

	if (fam < 0)
		return (int)fam;
	err = grow((void **)&p->samples, &p->samples_cap, p->nsamples,
		   sizeof(*p->samples));
	if (err)
		return err;
	if (labels && *labels && !(l = strdup(labels)))
		return -ENOMEM;
	p->samples[p->nsamples++] = (struct prom_sample){
		.family = (size_t)fam, .labels = l, .value = value,
	};
	return 0;
}

int prom_page__declare(struct prom_page *p, const struct prom_family *f)
{
	long fam = family_index(p, f);

	return fam < 0 ? (int)fam : 0;
}

int prom_page__add_stats(struct prom_page *p, const struct stat_desc *desc,
			 const uint64_t *values, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		if (desc[i].family)	/* else: summary.txt's alone */
			err = prom_page__add(p, desc[i].family, desc[i].labels,
					     (double)values[i]);
	return err;
}

int prom_page__add_fields(struct prom_page *p, const struct stat_field *fields,
			  size_t n, const void *base)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		double v = (double)stat_field__get(&fields[i], base);

		err = prom_page__add(p, fields[i].desc.family,
				     fields[i].desc.labels,
				     fields[i].scale ? v * fields[i].scale : v);
	}
	return err;
}

static void write_value(FILE *f, double v)
{
	/* Whole numbers (counts, bytes) in full; others to 15 digits. */
	if (v >= 0 && v < 1e19 && v == (double)(unsigned long long)v)
		fprintf(f, "%llu\n", (unsigned long long)v);
	else
		fprintf(f, "%.15g\n", v);
}

int prom_page__write(const struct prom_page *p, FILE *f)
{
	static const char *const types[] = {
		[PROM_COUNTER] = "counter", [PROM_GAUGE] = "gauge",
	};

	for (size_t i = 0; i < p->nfamilies; i++) {
		const struct prom_family *fam = p->families[i];

		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help,
			fam->name, types[fam->type]);
		for (size_t j = 0; j < p->nsamples; j++) {
			const struct prom_sample *s = &p->samples[j];

			if (s->family != i)
				continue;
			fputs(fam->name, f);
			if (s->labels)
				fprintf(f, "{%s}", s->labels);
			fputc(' ', f);
			write_value(f, s->value);
		}
	}
	return ferror(f) ? -EIO : 0;
}

void prom__write_label_value(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}
