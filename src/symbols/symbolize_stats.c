// SPDX-License-Identifier: MIT
/* The symbolizer's counters, as summary.txt and /metrics name them. */
#include "debug_files.h"
#include "prom.h"
#include "symbolize.h"

static const struct prom_family processes = {
	"sysscope_symbol_processes_total", PROM_COUNTER,
	"Processes whose mappings were read, or gone before they could be.",
}, files = {
	"sysscope_symbol_files_total", PROM_COUNTER,
	"Files whose symbols were read, and what became of them.",
}, symbol_sources = {
	"sysscope_symbol_sources_total", PROM_COUNTER,
	"Files read for symbols, by where their symbols came from.",
}, jit_lines_dropped = {
	"sysscope_symbol_jit_lines_over_budget_total", PROM_COUNTER,
	"JIT perf map lines not indexed: the perf map budget was used up.",
}, jit_maps = {
	"sysscope_symbol_jit_maps_total", PROM_COUNTER,
	"JIT perf maps (/tmp/perf-PID.map) read, or left unread as over the budget.",
}, unresolved = {
	"sysscope_unresolved_addresses_total", PROM_COUNTER,
	"Addresses named by module and offset, or not at all.",
}, user_frames = {
	"sysscope_user_frames_total", PROM_COUNTER,
	"User frames named, by what named them.",
}, debuginfod = {
	"sysscope_debuginfod_files_total", PROM_COUNTER,
	"Debug files asked of debuginfod, by outcome.",
}, source_frames = {
	"sysscope_source_frames_total", PROM_COUNTER,
	"User frames given a source line, and frames of inlined calls added.",
}, dwarf_files = {
	"sysscope_dwarf_files_total", PROM_COUNTER,
	"Files whose DWARF (lines, inlined calls) was read, or refused.",
};

#define SFIELD(field, text, family, labels) \
	STAT_FIELD(struct symbolizer_stats, field, text, family, labels)

static const struct stat_field stat_fields[] = {
	SFIELD(processes, "processes read", &processes, "result=\"read\""),
	SFIELD(processes_gone, "processes gone before read", &processes,
	       "result=\"gone\""),
	SFIELD(processes_retired, "processes exited, kept for their samples",
	       &processes, "result=\"exited\""),
	SFIELD(files, "files with symbols", &files, "result=\"loaded\""),
	SFIELD(files_shared, "files sharing symbols (build-id)", &files,
	       "result=\"shared\""),
	SFIELD(files_failed, "files unreadable or not ELF", &files,
	       "result=\"failed\""),
	SFIELD(files_remote, "files not read (FUSE or network filesystem)", &files,
	       "result=\"remote_skipped\""),
	SFIELD(files_evicted, "files evicted (no process maps them; for room)", &files,
	       "result=\"evicted\""),
	SFIELD(debug_files[DEBUG_NONE], "files named by their own symbols",
	       &symbol_sources, "source=\"own\""),
	SFIELD(debug_files[DEBUG_BUILD_ID], "files named by a debug file (build-id)",
	       &symbol_sources, "source=\"build_id\""),
	SFIELD(debug_files[DEBUG_LINK], "files named by a debug file (debuglink)",
	       &symbol_sources, "source=\"debuglink\""),
	SFIELD(debug_files[DEBUG_DEBUGINFOD], "files named by a debug file (debuginfod)",
	       &symbol_sources, "source=\"debuginfod\""),
	SFIELD(jit_maps, "JIT perf maps read", &jit_maps, "result=\"read\""),
	SFIELD(jit_maps_over_budget, "JIT perf maps over the budget, not read",
	       &jit_maps, "result=\"over_budget\""),
	SFIELD(jit_lines_over_budget, "JIT perf map lines over the budget",
	       &jit_lines_dropped, NULL),
	SFIELD(user_unresolved, "user addresses unresolved", &unresolved,
	       "space=\"user\""),
	SFIELD(kernel_unresolved, "kernel addresses unresolved", &unresolved,
	       "space=\"kernel\""),
	SFIELD(frames_named[NAMED_SYMTAB], "user frames named by symtab",
	       &user_frames, "named_by=\"symtab\""),
	SFIELD(frames_named[NAMED_DYNSYM], "user frames named by dynamic symbols",
	       &user_frames, "named_by=\"dynsym\""),
	SFIELD(frames_named[NAMED_BUILD_ID], "user frames named by debug file (build-id)",
	       &user_frames, "named_by=\"build_id\""),
	SFIELD(frames_named[NAMED_DEBUGLINK], "user frames named by debug file (debuglink)",
	       &user_frames, "named_by=\"debuglink\""),
	SFIELD(frames_named[NAMED_DEBUGINFOD], "user frames named by debuginfod",
	       &user_frames, "named_by=\"debuginfod\""),
	SFIELD(frames_named[NAMED_MINIDEBUGINFO], "user frames named by MiniDebugInfo",
	       &user_frames, "named_by=\"minidebuginfo\""),
	SFIELD(frames_named[NAMED_PERF_MAP], "user frames named by JIT perf map",
	       &user_frames, "named_by=\"perf_map\""),
	SFIELD(frames_named[NAMED_FUNC_START], "user frames named by function start (CFI)",
	       &user_frames, "named_by=\"function_start\""),
	SFIELD(frames_named[NAMED_NONE], "user frames unnamed", &user_frames,
	       "named_by=\"none\""),
	SFIELD(debuginfod_requested, "debuginfod: files requested", &debuginfod,
	       "result=\"requested\""),
	SFIELD(debuginfod_fetched, "debuginfod: files fetched", &debuginfod,
	       "result=\"fetched\""),
	SFIELD(debuginfod_failed, "debuginfod: failures", &debuginfod,
	       "result=\"failed\""),
	SFIELD(debuginfod_timed_out, "debuginfod: timed out", &debuginfod,
	       "result=\"timed_out\""),
	SFIELD(frames_with_line, "user frames with a source line",
	       &source_frames, "kind=\"with_line\""),
	SFIELD(frames_inlined, "inlined frames added", &source_frames,
	       "kind=\"inlined\""),
	SFIELD(dwarf_files, "files with DWARF lines read", &dwarf_files,
	       "result=\"read\""),
	SFIELD(dwarf_failed, "files with DWARF refused or unreadable",
	       &dwarf_files, "result=\"failed\""),
	SFIELD(dwarf_over_budget, "files with DWARF over the whole budget",
	       &dwarf_files, "result=\"over_budget\""),
	SFIELD(dwarf_evicted, "files with DWARF freed for room (LRU)",
	       &dwarf_files, "result=\"evicted\""),
};

const struct stat_field *symbolizer_stats__fields(size_t *n)
{
	*n = sizeof(stat_fields) / sizeof(stat_fields[0]);
	return stat_fields;
}
