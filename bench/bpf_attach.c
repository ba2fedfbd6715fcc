// SPDX-License-Identifier: MIT
/*
 * bench/bpf_attach OBJECT SECONDS: loads a BPF object, attaches each of
 * its programs (by their section), holds them SECONDS, and exits. For
 * benchmarks' floor programs; bpftool of Debian 12 cannot auto-attach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	int seconds;

	if (argc != 3 || (seconds = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: %s OBJECT SECONDS\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bpf_attach: cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "bpf_attach: cannot attach %s\n",
				bpf_program__name(prog));
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	sleep(seconds);
	bpf_object__close(obj);
	return 0;
}
