// SPDX-License-Identifier: MIT
/*
 * Fixture for test_elfsyms: an executable with known functions. The test
 * builds it at run time (-O0, so no function is inlined or folded into
 * another) as PIE and as non-PIE, and finds the addresses with nm.
 */

int fx_alpha(int x);
int fx_beta(int x);
int fx_gamma(int x);

__attribute__((noinline)) int fx_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int fx_beta(int x)
{
	return fx_alpha(x) ^ 0x55;
}

/* Local: in .symtab only. */
__attribute__((noinline)) static int fx_static(int x)
{
	return x - 7;
}

__attribute__((noinline)) int fx_gamma(int x)
{
	int sum = 0;

	for (int i = 0; i < x; i++)
		sum += fx_static(i);
	return sum;
}

/*
 * A local name at fx_alpha's address. Locals come first in .symtab, so a
 * loader that keeps the first name seen would report this one.
 */
static int fx_local_alias(int x) __attribute__((alias("fx_alpha"), used));

/* A function without .size (st_size 0), like hand-written assembly. */
__asm__(".text\n"
	".globl fx_nosize\n"
	".type fx_nosize, @function\n"
	"fx_nosize:\n"
	"\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tret\n");

int main(int argc, char **argv)
{
	(void)argv;
	return (fx_beta(argc) + fx_gamma(argc)) > 1000;
}
