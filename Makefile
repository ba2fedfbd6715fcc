# SPDX-License-Identifier: MIT
#
#   make            build build/sysscope
#   make run        install deps, build, profile this node for 10 s
#   make test       install deps, build with ASan/UBSan, run every test
#   make bench      overhead benchmarks (not a test; prints a table)
#   make fuzz       run each libFuzzer target FUZZ_SECONDS (default 60)
#   make deps       install the Debian packages the build and tests need
#   make pythons    build CPython 3.8-3.10 with pyenv for the tests (network)
#   make vmlinux    regenerate the vendored bpf/vmlinux/$(ARCH)/vmlinux.h
#   V=1             show full commands;  SAN=1  sanitized build in build/san
#   CC=clang        build the user space with clang (default: cc)
#   make test-kernels  boot Debian 12's 6.1 kernels (x86-64, arm64) under QEMU
#                      and run the checks there (tests/kernels; slow, not in test)
#   ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- OUTPUT=build/arm64
#                   cross build for arm64 (the arm64 libraries from Debian's
#                   multiarch: scripts/install-deps.sh --arm64)

OUTPUT ?= build
SAN ?= 0
CLANG ?= clang
WORKLOAD_CC ?= clang
BPFTOOL ?= bpftool
PYTEST ?= /usr/bin/python3 -m pytest
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CROSS_COMPILE ?=
ifneq ($(CROSS_COMPILE),)
# clang targets another architecture by flag, with binutils-aarch64-linux-gnu,
# libc6-dev-arm64-cross and the multiarch libraries; Debian's cross gcc
# conflicts with gcc-multilib (the fuzz seeds' -m32 build), so not it.
CLANG_TARGET := --target=$(patsubst %-,%,$(CROSS_COMPILE))
ifeq ($(origin CC),default)
CC := $(CLANG) $(CLANG_TARGET)
endif
endif
VMLINUX_DIR ?= bpf/vmlinux/$(ARCH)
VERSION := 0.1.0

ifeq ($(SAN),1)
OUTPUT := $(OUTPUT)/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
endif

CFLAGS ?= -O2 -g
# Hardening: the profiler parses other tenants' files.
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP $(SANFLAGS) \
	  $(HARDEN) \
	  -I$(OUTPUT) -Ibpf $(addprefix -I,$(SRC_DIRS)) \
	  -DSYSSCOPE_VERSION='"$(VERSION)"'
LDFLAGS += $(SANFLAGS) -pie -Wl,-z,relro,-z,now
LDLIBS := -lbpf -ldw -lelf -lz -lcap -ljson-c -lseccomp -lmicrohttpd -lpthread -ldl \
	  -lstdc++ -llzma
TEST_LDLIBS := -lcmocka $(LDLIBS)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_NAMES := $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_NAMES))
# src/ has one folder per concern; each folder's headers are on the include path.
SRC_DIRS := src $(patsubst %/,%,$(sort $(dir $(wildcard src/*/*.c)))) cgroup container
SRCS := $(wildcard src/*.c src/*/*.c cgroup/*.c container/*.c)
OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/src/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(WORKLOAD_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps pythons run test unit e2e bench fuzz clean vmlinux workloads \
	test-kernels bpf-arm64

all: $(OUTPUT)/sysscope

$(OUTPUT)/sysscope: $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# BPF: clang -> bpftool gen object (static link, BTF fixups) -> skeleton.
$(OUTPUT)/bpf/%.tmp.o: bpf/%.bpf.c $(VMLINUX_DIR)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I$(VMLINUX_DIR) -Ibpf -MMD -MP -c $< -o $@

$(OUTPUT)/bpf/%.bpf.o: $(OUTPUT)/bpf/%.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# Every user object may include a skeleton; they are few and cheap.
$(OBJS): $(OUTPUT)/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libsysscope.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libsysscope.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(OUTPUT)/libsysscope.a \
		$(TEST_LDLIBS) -o $@

# Workloads are the ground truth of the end-to-end tests: frame pointers
# in leaf functions too (clang: gcc 12 ignores -mno-omit-leaf-frame-pointer),
# no inlining, never sanitized (their timing is what the tests measure).
$(OUTPUT)/workloads/%: tests/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(WORKLOAD_CC) $(if $(filter clang%,$(notdir $(WORKLOAD_CC))),$(CLANG_TARGET)) -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
		-fno-optimize-sibling-calls \
		-Wall -Wextra -Werror $< -lpthread -o $@

workloads: $(WORKLOADS)

# The CFI unwinder's ground truth (tests/e2e/test_unwind.py): the same
# source without frame pointers, by gcc and clang, dynamic (lazy binding,
# for the PLT case) and -static. gcc 12 at -O2 keeps no frame in leaves.
UNWIND_TRUTH_CFLAGS := -O2 -fomit-frame-pointer -g -Wall -Wextra -Werror
UNWIND_TRUTH := $(addprefix $(OUTPUT)/workloads/unwind_truth-,\
	gcc clang gcc-static clang-static)

$(OUTPUT)/workloads/unwind_truth-gcc $(OUTPUT)/workloads/unwind_truth-gcc-static: UT_CC := $(CROSS_COMPILE)gcc
$(OUTPUT)/workloads/unwind_truth-clang $(OUTPUT)/workloads/unwind_truth-clang-static: UT_CC := $(CLANG) $(CLANG_TARGET)
$(OUTPUT)/workloads/unwind_truth-gcc $(OUTPUT)/workloads/unwind_truth-clang: UT_LD := -Wl,-z,lazy
$(OUTPUT)/workloads/unwind_truth-gcc-static $(OUTPUT)/workloads/unwind_truth-clang-static: UT_LD := -static

$(UNWIND_TRUTH): tests/workloads/unwind_truth.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(UT_CC) $(UNWIND_TRUTH_CFLAGS) $(UT_LD) $< -lpthread -o $@

workloads: $(UNWIND_TRUTH)

# Rust ground truth (tests/e2e/test_rust_names.py): v0 symbol names, by the
# rustc a fresh Debian 12 gets from apt (scripts/install-deps.sh), not a
# rustup toolchain that may be first on PATH.
RUSTC ?= /usr/bin/rustc
RUST_WORKLOADS := $(patsubst tests/workloads/%.rs,$(OUTPUT)/workloads/%,\
	$(wildcard tests/workloads/*.rs))

$(OUTPUT)/workloads/%: tests/workloads/%.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(RUSTC) -C symbol-mangling-version=v0 -C opt-level=1 \
		-C force-frame-pointers=yes -g $< -o $@

workloads: $(RUST_WORKLOADS)

deps:
	$(Q)scripts/install-deps.sh

# CPython 3.8-3.10 for the Python frame tests (pyenv; see the script).
pythons: deps
	$(Q)scripts/install-pythons.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run-node-profile.sh $(OUTPUT)/sysscope

unit: $(UNIT_BINS)
	$(Q)mkdir -p $(OUTPUT)/tmp
	$(Q)set -e; for t in $(UNIT_BINS); do \
		echo "== $$t"; SYSSCOPE_TEST_TMP=$(OUTPUT)/tmp $$t; done

# ASan keeps freed memory in quarantine (256 MiB): the agent's RSS cap
# would then evict every window. 16 MiB still catches use-after-free.
e2e: all workloads
	$(Q)ASAN_OPTIONS=quarantine_size_mb=16$(if $(ASAN_OPTIONS),:$(ASAN_OPTIONS)) \
	 SYSSCOPE=$(abspath $(OUTPUT)/sysscope) \
	 SYSSCOPE_WORKLOADS=$(abspath $(OUTPUT)/workloads) \
	 SYSSCOPE_PLAIN=$(abspath build/sysscope) \
	 $(PYTEST) -v --durations=30 tests/e2e

# The README's test command: everything, sanitized.
test: deps pythons
	$(Q)$(MAKE) --no-print-directory CC=gcc all
	$(Q)$(MAKE) --no-print-directory SAN=1 CC=gcc unit e2e
	$(Q)$(MAKE) --no-print-directory OUTPUT=build/clang CC=clang all
	$(Q)$(MAKE) --no-print-directory bpf-arm64
	$(Q)tests/fuzz/run.sh $(or $(CI_FUZZ_SECONDS),5)

# The BPF objects for arm64 (its vmlinux.h, arch-neutral registers):
# compile only, seconds; part of make test.
bpf-arm64:
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 OUTPUT=build/bpf-arm64 \
		$(patsubst %,build/bpf-arm64/%.skel.h,$(BPF_NAMES))

# The kernel matrix (README: "Kernels and architectures tested"): Debian 12's 6.1 and
# bookworm-backports' 6.12 kernels, and Debian 11's 5.10 (refused clearly), on
# x86-64 and arm64 under QEMU TCG. Minutes, so not in make test.
KERNELS ?= x86 arm64 x86@6.12 arm64@6.12 x86@5.10
test-kernels:
	$(Q)scripts/install-deps.sh --kernels
	$(Q)$(MAKE) --no-print-directory all workloads
	$(Q)$(if $(findstring arm64,$(KERNELS)),$(MAKE) --no-print-directory ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- OUTPUT=build/arm64 all build/arm64/workloads/burn)
	$(Q)scripts/test-kernels.sh $(foreach k,$(KERNELS),$(k):$(if $(findstring arm64,$(k)),build/arm64,$(OUTPUT)))

bench: deps pythons all workloads
	$(Q)bench/oncpu.sh $(OUTPUT)
	$(Q)bench/offcpu.sh $(OUTPUT)
	$(Q)bench/agent.sh $(OUTPUT)
	$(Q)bench/unwind.sh $(OUTPUT)
	$(Q)bench/naming.sh $(OUTPUT)
	$(Q)bench/python.sh $(OUTPUT)
	$(Q)bench/budget.py $(OUTPUT)
	$(Q)bench/switch_cost.sh $(OUTPUT)
	$(Q)bench/cache_churn.py $(OUTPUT)
	$(Q)bench/clickhouse.sh $(OUTPUT)

FUZZ_SECONDS ?= 60
fuzz: deps
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

vmlinux:
	$(Q)scripts/gen-vmlinux.sh $(VMLINUX_DIR)/vmlinux.h

clean:
	$(Q)rm -rf build

# Only our objects' dependency files: other tools write under $(OUTPUT) too.
-include $(OBJS:.o=.d) $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/tests/*.d)
