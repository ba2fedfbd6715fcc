// SPDX-License-Identifier: MIT
/*
 * sysscope: parses the command line and runs the command it names. Each
 * command lives in src/commands/, one file each.
 */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "commands.h"
#include "log.h"
#include "opts.h"

static const struct command {
	enum mode mode;
	int (*run)(const struct opts *o);
} commands[] = {
	{ MODE_PROFILE, cmd_run },
	{ MODE_OFFCPUTIME, cmd_run },
	{ MODE_WALLCLOCK, cmd_run },
	{ MODE_AGENT, cmd_agent },
	{ MODE_PS, cmd_ps },
	{ MODE_QUERY, cmd_query },
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbosity < 2)
		return 0;
	if (level == LIBBPF_INFO && log_verbosity < 1)
		return 0;
	/* Warnings are noise unless asked for: failures are logged by us. */
	if (level == LIBBPF_WARN && log_verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct opts o;
	char err[256];

	switch (opts__parse(argc, argv, &o, err, sizeof(err), stdout)) {
	case OPTS_EXIT_OK:
		return 0;
	case OPTS_ERROR:
		log_error("%s", err);
		return 2;
	case OPTS_RUN:
		break;
	}
	log_verbosity = o.verbose;
	libbpf_set_print(libbpf_print);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].mode == o.mode)
			return commands[i].run(&o) ? 1 : 0;
	log_error("%s: no such command", mode__name(o.mode));
	return 2;
}
