/* SPDX-License-Identifier: MIT */
/* Messages of the program layer; helpers return -errno and never log. */
#ifndef SYSSCOPE_LOG_H
#define SYSSCOPE_LOG_H

extern int log_verbosity;	/* 0 default, 1 -v, 2 -vv */

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
