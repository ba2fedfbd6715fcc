// SPDX-License-Identifier: MIT
/*
 * Fixture for test_elfsyms: a shared object with two exported functions
 * (in .dynsym) and a static one (in .symtab only, gone once stripped).
 * No includes, so it also builds as a 32-bit object with -m32 -nostdlib.
 */

int fx_lib_one(int x);
int fx_lib_two(int x);

__attribute__((noinline)) static int fx_lib_hidden(int x)
{
	return x * 5;
}

__attribute__((noinline)) int fx_lib_one(int x)
{
	return fx_lib_hidden(x) + 1;
}

__attribute__((noinline)) int fx_lib_two(int x)
{
	return fx_lib_one(x) * 2;
}
