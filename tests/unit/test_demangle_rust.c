// SPDX-License-Identifier: MIT
/*
 * Unit tests of the Rust demangler (src/symbols/demangle_rust.c and
 * demangle_rust_v0.c): real v0 and legacy names, made by rustc 1.95 from
 * tests/unit/fixtures/rust/{feat,more}.rs:
 *   rustc -O -C symbol-mangling-version=v0 feat.rs   (and without: legacy;
 *   more.rs at -C opt-level=0, RUSTC_BOOTSTRAP=1 for the "!" type)
 * and read with nm; then names written by hand from RFC 2603's grammar for
 * what those programs do not make (constants of every kind, ABIs, binders,
 * backrefs into generic arguments); then malformed and hostile names, which
 * must give an error (a loop of backrefs, exponential backrefs and deep
 * nesting stop at the demangler's limits, so these tests end at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"
#include "demangle_rust.h"

struct fixture {
	const char *mangled, *demangled;
};

/* From nm on the fixture programs; the expected text checked by hand. */
static const struct fixture real_names[] = {
	{ "_RINvCs3JpXfVvpfaM_4feat12generic_showINtNtCslNYArtu3iFV_5alloc3vec3VechEEB2_",
	  "feat::generic_show::<alloc::vec::Vec<u8>>" },
	{ "_RINvCs3JpXfVvpfaM_4feat12generic_showTaRecEEB2_",
	  "feat::generic_show::<(i8, &str, char)>" },
	{ "_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeNtNvMs_NtNtNtCsjrHSEGnQ3l9_3std2io8buffered9bufwriterINtBN_9BufWriterpE9flush_buf8BufGuardEBT_",
	  "core::ptr::drop_in_place::<<std::io::buffered::bufwriter::BufWriter<_>>::flush_buf::BufGuard>" },
	{ "_RINvNtCsgEmfK2I1SDS_4core6escape14escape_unicodeKja_ECsgY6Mt91CT9J_14rustc_demangle",
	  "core::escape::escape_unicode::<10usize>" },
	{ "_RNCNCNCNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal00s_0B9_",
	  "std::rt::lang_start_internal::{closure#0}::{closure#0}::{closure#1}" },
	{ "_RNSNvYNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceuE9call_once6vtableCs3JpXfVvpfaM_4feat.llvm.2769806532232257791",
	  "<std::rt::lang_start<()>::{closure#0} as core::ops::function::FnOnce<()>>::call_once::{shim:vtable#0}" },
	{ "_RNvMCs3JpXfVvpfaM_4featINtB2_3BufKj4_E3sumB2_",
	  "<feat::Buf<4usize>>::sum" },
	{ "_RNvMs_NtCs3JpXfVvpfaM_4feat6shapesNtB4_6Circle4grow",
	  "<feat::shapes::Circle>::grow" },
	{ "_RNvNCNKNvNtNtCsjrHSEGnQ3l9_3std2io5stdio14OUTPUT_CAPTURE0023___RUST_STD_INTERNAL_VAL",
	  "std::io::stdio::OUTPUT_CAPTURE::{K#0}::{closure#0}::__RUST_STD_INTERNAL_VAL" },
	{ "_RNvNtCs3JpXfVvpfaM_4featu13ncd_dma1a7bzbu9gre_6ka8l",
	  "feat::ünïcödé::grüße" },
	{ "_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal",
	  "std::rt::lang_start_internal" },
	{ "_RNvNtNtCsjrHSEGnQ3l9_3std2io5stdio19OUTPUT_CAPTURE_USED.0",
	  "std::io::stdio::OUTPUT_CAPTURE_USED.0" },
	{ "_RNvXNtCs3JpXfVvpfaM_4feat6shapesNtB2_6CircleNtB2_4Area4area",
	  "<feat::shapes::Circle as feat::shapes::Area>::area" },
	{ "_RNvXso_NtCslNYArtu3iFV_5alloc3vecINtB5_3VecINtNtB7_5boxed3BoxDINtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceuEp6OutputuNtNtB15_6marker4SendEL_EENtNtB13_4drop4Drop4dropCs3JpXfVvpfaM_4feat",
	  "<alloc::vec::Vec<alloc::boxed::Box<dyn core::ops::function::FnOnce<(), Output = ()> + core::marker::Send>> as core::ops::drop::Drop>::drop" },
	{ "_RNvXso_NtCslNYArtu3iFV_5alloc3vecINtB5_3VechENtNtNtCsgEmfK2I1SDS_4core3ops4drop4Drop4dropCsduwmD7cSIQq_5gimli",
	  "<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop" },
	{ "_RNvYINtNtCslNYArtu3iFV_5alloc3vec3VechENtNtCsjrHSEGnQ3l9_3std2io5Write9write_fmtBF_",
	  "<alloc::vec::Vec<u8> as std::io::Write>::write_fmt" },
	{ "_ZN111_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$alloc..vec..spec_from_iter_nested..SpecFromIterNested$LT$T$C$I$GT$$GT$9from_iter17ha0dd0ac1805e45b8E",
	  "<alloc::vec::Vec<T> as alloc::vec::spec_from_iter_nested::SpecFromIterNested<T,I>>::from_iter" },
	{ "_ZN4core3ops8function6FnOnce40call_once$u7b$$u7b$vtable.shim$u7d$$u7d$17h79ce5eb945375429E.llvm.6632331070989532642",
	  "core::ops::function::FnOnce::call_once{{vtable.shim}}" },
	{ "_ZN4core3ptr147drop_in_place$LT$std..thread..lifecycle..spawn_unchecked$LT$feat..main..$u7b$$u7b$closure$u7d$$u7d$$C$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h7f9cfb06cefc7267E",
	  "core::ptr::drop_in_place<std::thread::lifecycle::spawn_unchecked<feat::main::{{closure}},()>::{{closure}}>" },
	{ "_ZN4feat12Buf$LT$_$GT$3sum17he47bcc6864f75431E",
	  "feat::Buf<_>::sum" },
	{ "_ZN4feat12generic_show17h4e1b7e386f8f19e6E",
	  "feat::generic_show" },
	{ "_ZN4feat12generic_show17h51af6adb60403a65E",
	  "feat::generic_show" },
	{ "_ZN4feat24_$ufc$n$uef$c$uf6$d$ue9$13gr$ufc$$udf$e17h872245bafb7e0634E",
	  "feat::ünïcödé::grüße" },
	{ "_ZN4feat4main17ha2dc465f34a2e86eE",
	  "feat::main" },
	{ "_ZN4feat6shapes6Circle4grow17h4f892bb0d95ae829E",
	  "feat::shapes::Circle::grow" },
	{ "_ZN4feat9tuple_ptr17h1b5d29b3c6b8b011E",
	  "feat::tuple_ptr" },
	{ "_ZN59_$LT$feat..shapes..Circle$u20$as$u20$feat..shapes..Area$GT$4area17he0377ef9d43be3a6E",
	  "<feat::shapes::Circle as feat::shapes::Area>::area" },
	{ "_RINvCs60fBPC9gAID_4more2cgKl0_Kb0_Kca_Ko1_EB2_",
	  "more::cg::<0i32, false, '\\n', 1u128>" },
	{ "_RINvCs60fBPC9gAID_4more2cgKl7_Kb0_Kce9_Ko0_EB2_",
	  "more::cg::<7i32, false, 'é', 0u128>" },
	{ "_RINvCs60fBPC9gAID_4more2cgKln5_Kb1_Kc78_Koffffffffffffffffffffffffffffffff_EB2_",
	  "more::cg::<-5i32, true, 'x', 0xffffffffffffffffffffffffffffffffu128>" },
	{ "_RINvCs60fBPC9gAID_4more3genFG_QL0_hERL0_hEB2_",
	  "more::gen::<for<'a> fn(&'a mut u8) -> &'a u8>" },
	{ "_RINvCs60fBPC9gAID_4more3genFG_UQL0_Ahj3_EuEB2_",
	  "more::gen::<for<'a> unsafe fn(&'a mut [u8; 3usize])>" },
	{ "_RINvCs60fBPC9gAID_4more3genFG_lRL0_eEbEB2_",
	  "more::gen::<for<'a> fn(i32, &'a str) -> bool>" },
	{ "_RINvCs60fBPC9gAID_4more3genFKClElEB2_",
	  "more::gen::<extern \"C\" fn(i32) -> i32>" },
	{ "_RINvCs60fBPC9gAID_4more3genINtNtCsgEmfK2I1SDS_4core6option6OptionzEEB2_",
	  "more::gen::<core::option::Option<!>>" },
	{ "_RINvCs60fBPC9gAID_4more3genINtNtCslNYArtu3iFV_5alloc5boxed3BoxDNtNtNtNtCsgEmfK2I1SDS_4core4iter6traits8iterator8Iteratorp4ItemmNtNtB17_6marker4SendEL_EEB2_",
	  "more::gen::<alloc::boxed::Box<dyn core::iter::traits::iterator::Iterator<Item = u32> + core::marker::Send>>" },
	{ "_RINvCs60fBPC9gAID_4more3genOhEB2_",
	  "more::gen::<*mut u8>" },
	{ "_RINvCs60fBPC9gAID_4more3genPSxEB2_",
	  "more::gen::<*const [i64]>" },
	{ "_RINvCs60fBPC9gAID_4more3genRDG_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTRL0_hEEp6OutputRL0_hEL_EB2_",
	  "more::gen::<&dyn for<'a> core::ops::function::Fn<(&'a u8,), Output = &'a u8>>" },
	{ "_RINvCs60fBPC9gAID_4more3genTnxfdbcuijsEEB2_",
	  "more::gen::<(i128, i64, f32, f64, bool, char, (), isize, usize, i16)>" },
	{ "_RNvCs60fBPC9gAID_4moreu7bbrz78b",
	  "more::函数" },
	{ "_RNvMNtNtCs60fBPC9gAID_4more2m12m2NtB2_4Deep4spin",
	  "<more::m1::m2::Deep>::spin" },
	{ "_RNvXs_Cs60fBPC9gAID_4moreDG_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTRL0_eEEp6OutputRL0_eEL_NtB4_2Tr1m",
	  "<dyn for<'a> core::ops::function::Fn<(&'a str,), Output = &'a str> as more::Tr>::m" },
	{ "_RNvXso_NtCslNYArtu3iFV_5alloc3vecINtB5_3VecINtNtB7_5boxed3BoxDINtNtNtCsgEmfK2I1SDS_4core3ops8function2FnuEp6OutputhEL_EENtNtB13_4drop4Drop4dropCs60fBPC9gAID_4more",
	  "<alloc::vec::Vec<alloc::boxed::Box<dyn core::ops::function::Fn<(), Output = u8>>> as core::ops::drop::Drop>::drop" },
	{ "_RNvCsfLfy6EI15iL_7___rustc35___rust_no_alloc_shim_is_unstable_v2",
	  "__rustc::__rust_no_alloc_shim_is_unstable_v2" },
};

/* Written from the grammar, one construct each. */
static const struct fixture grammar_names[] = {
	/* Crate disambiguator hidden; instantiating crate not shown. */
	{ "_RNvCs123_3foo3bar", "foo::bar" },
	{ "_RNvC3foo3barC3baz", "foo::bar" },
	/* Suffixes: LLVM's dropped, others kept. */
	{ "_RNvC3foo3bar.cold", "foo::bar.cold" },
	{ "_RNvC3foo3bar.llvm.0123ABCDEF", "foo::bar" },
	{ "_RNvC3foo3bar$x", "foo::bar$x" },
	/* Namespaces: named closure, disambiguated closure, others, empty name. */
	{ "_RNCNvC3foo3bar5inner", "foo::bar::{closure:inner#0}" },
	{ "_RNCNvC3foo3bars0_0", "foo::bar::{closure#2}" },
	{ "_RNSNvC3foo3bar6vtable", "foo::bar::{shim:vtable#0}" },
	{ "_RNXNvC3foo3bar0", "foo::bar::{X#0}" },
	{ "_RNZC3foo3bar", "foo::{Z:bar#0}" },
	{ "_RNvNtC3foo3bar0", "foo::bar" },
	/* Identifiers: "_" after the length when they start with a digit or "_". */
	{ "_RNvC3foo5___bar", "foo::__bar" },
	{ "_RNvC3foo3_1ab", "foo::1ab" },
	/* Punycode: "münchen" is "mnchen-3ya". */
	{ "_RNvC3foou10mnchen_3ya", "foo::münchen" },
	/* Types. */
	{ "_RINvC3foo3genTabcdefhijlmnostuvxyzpEE",
	  "foo::gen::<(i8, bool, char, f64, str, f32, u8, isize, usize, i32, "
	  "u32, i128, u128, i16, u16, (), ..., i64, u64, !, _)>" },
	{ "_RINvC3foo3genTETuEThEE", "foo::gen::<(), ((),), (u8,)>" },
	{ "_RINvC3foo3genAhj4_ShPhOhRhQhE",
	  "foo::gen::<[u8; 4usize], [u8], *const u8, *mut u8, &u8, &mut u8>" },
	{ "_RINvC3foo3genL_hE", "foo::gen::<'_, u8>" },
	{ "_RINvC3foo3genFK8C_unwindlEuE",
	  "foo::gen::<extern \"C-unwind\" fn(i32)>" },
	{ "_RINvC3foo3genFUKCEzE", "foo::gen::<unsafe extern \"C\" fn() -> !>" },
	/* Two bound lifetimes: the outermost is 'a. */
	{ "_RINvC3foo3genFG0_RL1_hRL0_tEuE",
	  "foo::gen::<for<'a, 'b> fn(&'a u8, &'b u16)>" },
	{ "_RINvC3foo3genFG_RL0_DNtC3foo5TraitEL0_EuE",
	  "foo::gen::<for<'a> fn(&'a dyn foo::Trait + 'a)>" },
	/* A dyn trait with generic args and an associated type, then the same
	 * trait by backref (position 13, "c_"), generics left open for "Output". */
	{ "_RINvC3foo3genDINtC3foo2FnhEp6OutputtEL_DBc_p6OutputmEL_E",
	  "foo::gen::<dyn foo::Fn<u8, Output = u16>, dyn foo::Fn<u8, Output = u32>>" },
	{ "_RINvC3foo3genDNtC3foo1ANtC3foo1BEL_E", "foo::gen::<dyn foo::A + foo::B>" },
	/* Impls: inherent, trait impl, trait (Y); the impl path is not shown. */
	{ "_RNvMs_C3fooNtB4_3Bar3new", "<foo::Bar>::new" },
	{ "_RNvXC3fooNtB2_3BarNtB2_5Trait3run", "<foo::Bar as foo::Trait>::run" },
	{ "_RNvYhNtC3foo5Trait3run", "<u8 as foo::Trait>::run" },
	/* Constants. */
	{ "_RINvC3foo3genKpE", "foo::gen::<_>" },
	{ "_RINvC3foo3genKj_Kj0010_Kt2a_E", "foo::gen::<0usize, 16usize, 42u16>" },
	{ "_RINvC3foo3genKan80_Kln7fffffff_E", "foo::gen::<-128i8, -2147483647i32>" },
	{ "_RINvC3foo3genKnn80000000000000000000000000000000_E",
	  "foo::gen::<-0x80000000000000000000000000000000i128>" },
	{ "_RINvC3foo3genKb0_Kb1_E", "foo::gen::<false, true>" },
	{ "_RINvC3foo3genKc61_Kc27_Kc22_Kc5c_Kc0_Kc7f_Kc20ac_E",
	  "foo::gen::<'a', '\\'', '\"', '\\\\', '\\0', '\\u{7f}', '€'>" },
	{ "_RINvC3foo3genKRe616263_Ke616263_E",
	  "foo::gen::<{\"abc\"}, {*\"abc\"}>" },
	{ "_RINvC3foo3genKRe22275c0ac3a9_E",
	  "foo::gen::<{\"\\\"'\\\\\\né\"}>" },
	{ "_RINvC3foo3genKAh1_h2_EKAEE", "foo::gen::<{[1u8, 2u8]}, {[]}>" },
	{ "_RINvC3foo3genKTh1_b0_EKTh1_EKTEE",
	  "foo::gen::<{(1u8, false)}, {(1u8,)}, {()}>" },
	{ "_RINvC3foo3genKRh7_KQh7_KRAh1_EE",
	  "foo::gen::<{&7u8}, {&mut 7u8}, {&[1u8]}>" },
	{ "_RINvC3foo3genKVNtC3foo3BarS1xh1_1yb1_EE",
	  "foo::gen::<{foo::Bar { x: 1u8, y: true }}>" },
	{ "_RINvC3foo3genKVNvNtC3foo3Opt4NoneUKVNvNtC3foo3Opt4SomeTj5_EE",
	  "foo::gen::<{foo::Opt::None}, {foo::Opt::Some(5usize)}>" },
	{ "_RINvC3foo3genKTh1_Bd_EE", "foo::gen::<{(1u8, 1u8)}>" },
	/* Legacy escapes. */
	{ "_ZN4test15$SP$$BP$$RF$$C$17h0123456789abcdefE", "test::@*&," },
	{ "_ZN4test8$LP$$RP$17h0123456789abcdefE", "test::()" },
	{ "_ZN4test6a.b..c17h0123456789abcdefE", "test::a.b::c" },
	{ "_ZN4test10_$LT$T$GT$17h0123456789abcdefE.cold", "test::<T>.cold" },
	{ "_ZN4test12$u20ac$$u7e$17h0123456789abcdefE", "test::€~" },
};

/* Malformed or hostile: each gives this error. */
static const struct {
	const char *mangled;
	int err;
} bad_names[] = {
	{ "", -EINVAL },
	{ "main", -EINVAL },
	{ "_R", -EINVAL },
	{ "_RNv", -EINVAL },
	{ "_Z3foov", -EINVAL },
	{ "_R0NvC3foo3bar", -EINVAL },		/* an encoding version */
	{ "_RNvC3foo3ba", -EINVAL },		/* truncated */
	{ "_RNvC3foo4bar", -EINVAL },		/* length past the end */
	{ "_RNvC99999999999999999999999foo", -EINVAL },	/* 64-bit overflow */
	{ "_RNvC03foo3bar", -EINVAL },		/* leading zero */
	{ "_RNvB5_3foo", -EINVAL },		/* backref forwards */
	{ "_RNvB1_3foo", -EINVAL },		/* backref to itself */
	{ "_RNvB_3foo", -E2BIG },		/* to its own path: a loop */
	{ "_RNvBzzzzzzzzzzzzzzzzzzzzzz_3foo", -EINVAL },	/* overflow */
	{ "_RNvC3foo3bar x", -EINVAL },
	{ "_RNvC3foo3bar\xff", -EINVAL },
	{ "_RNvC3foo3barC3bazC3qux", -EINVAL },	/* two crates after */
	{ "_RINvC3foo3genqE", -EINVAL },	/* no such basic type */
	{ "_RINvC3foo3genhh", -EINVAL },	/* unterminated */
	{ "_RINvC3foo3genRL5_hE", -EINVAL },	/* lifetime bound nowhere */
	{ "_RINvC3foo3genFGzzzz_uEuE", -E2BIG },	/* a huge binder */
	{ "_RINvC3foo3genDNtC3foo5TraitEE", -EINVAL },	/* dyn without lifetime */
	{ "_RINvC3foo3genKb2_E", -EINVAL },
	{ "_RINvC3foo3genKcd800_E", -EINVAL },	/* a surrogate */
	{ "_RINvC3foo3genKc110000_E", -EINVAL },
	{ "_RINvC3foo3genKc123456789_E", -EINVAL },
	{ "_RINvC3foo3genKe80_E", -EINVAL },	/* not UTF-8 */
	{ "_RINvC3foo3genKec0af_E", -EINVAL },	/* overlong */
	{ "_RINvC3foo3genKe616_E", -EINVAL },	/* half a byte */
	{ "_RINvC3foo3genKjX_E", -EINVAL },
	{ "_RINvC3foo3genKo100000000000000000000000000000000_E", -EINVAL },	/* 129 bits */
	{ "_RINvC3foo3genKju_E", -EINVAL },
	{ "_RINvC3foo3genKuE", -EINVAL },	/* () is no constant type here */
	{ "_RINvC3foo3genKVNtC3foo3BarXE", -EINVAL },
	{ "_RNvC3foou3a_b", -EINVAL },		/* Punycode cut short */
	{ "_RNvC3foou6a_zzzzzzzzzzzzzzzzzz", -EINVAL },	/* Punycode overflow */
	{ "_RN_C3foo3bar", -EINVAL },		/* a namespace is a letter */
	{ "_RNvC3foo4_1ab", -EINVAL },		/* "_" is not counted */
	{ "_RN1C3foo3bar", -EINVAL },
	/* Legacy. */
	{ "_ZN17h0123456789abcdefE", -EINVAL },	/* the hash alone */
	{ "_ZN4test16h0123456789abcdeE", -EINVAL },
	{ "_ZN4test17g0123456789abcdefE", -EINVAL },
	{ "_ZN2ns6Worker3hotEi", -EINVAL },		/* C++ */
	{ "_ZN4test4$ZZ$17h0123456789abcdefE", -EINVAL },
	{ "_ZN4test5$u0a$17h0123456789abcdefE", -EINVAL },	/* control */
	{ "_ZN4test7$ud800$17h0123456789abcdefE", -EINVAL },
	{ "_ZN4test3$LT17h0123456789abcdefE", -EINVAL },
	{ "_ZN4test17h0123", -EINVAL },
	{ "_ZN99999999999999999999999test17h0123456789abcdefE", -EINVAL },
	{ "_ZN04test17h0123456789abcdefE", -EINVAL },
	{ "_ZN4te-t17h0123456789abcdefE", -EINVAL },
	{ "_ZN4test17h0123456789abcdefE junk", -EINVAL },
};

/* An exact-size heap copy: ASan reports any read past the name. */
static char *copy(const char *s, size_t n)
{
	char *c = malloc(n + 1);

	assert_non_null(c);
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

static void check_fixtures(const struct fixture *f, size_t n)
{
	char out[1024];

	for (size_t i = 0; i < n; i++) {
		char *name = copy(f[i].mangled, strlen(f[i].mangled));
		int err = demangle_rust(name, out, sizeof(out));

		if (err || strcmp(out, f[i].demangled))
			fail_msg("%s: %d '%s', wanted '%s'", f[i].mangled, err,
				 err ? "" : out, f[i].demangled);
		/* The symbolizer's entry point gives the same. */
		assert_true(demangle(name, out, sizeof(out)));
		assert_string_equal(out, f[i].demangled);
		free(name);
	}
}

static void test_real_names(void **state)
{
	(void)state;
	check_fixtures(real_names, sizeof(real_names) / sizeof(real_names[0]));
}

static void test_grammar_names(void **state)
{
	(void)state;
	check_fixtures(grammar_names, sizeof(grammar_names) / sizeof(grammar_names[0]));
}

static void test_bad_names(void **state)
{
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		char *name = copy(bad_names[i].mangled, strlen(bad_names[i].mangled));
		int err = demangle_rust(name, out, sizeof(out));

		if (err != bad_names[i].err)
			fail_msg("%s: %d, wanted %d", name, err, bad_names[i].err);
		free(name);
	}
}

/* Every proper prefix of every real name: an error or a shorter name, never a read past it. */
static void test_prefixes(void **state)
{
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(real_names) / sizeof(real_names[0]); i++) {
		size_t len = strlen(real_names[i].mangled);

		for (size_t n = 0; n < len; n++) {
			char *name = copy(real_names[i].mangled, n);
			int err = demangle_rust(name, out, sizeof(out));

			assert_true(err == 0 || err == -EINVAL);
			if (!err)
				assert_true(strlen(out) < sizeof(out));
			free(name);
		}
	}
}

/* base-62-number text of v, for backrefs. */
static void base62(uint64_t v, char *buf)
{
	static const char digits[] =
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char tmp[16];
	int n = 0;

	if (v == 0) {
		strcpy(buf, "_");
		return;
	}
	for (v--; n == 0 || v; v /= 62)
		tmp[n++] = digits[v % 62];
	while (n)
		*buf++ = tmp[--n];
	strcpy(buf, "_");
}

/*
 * prefix, then tuples each holding the previous one twice by backref:
 * 2^levels leaves from a name of a few hundred bytes.
 */
static char *exponential_name(const char *prefix, const char *suffix, int levels)
{
	char *s = calloc(1, 8192), ref[16];
	size_t prev;

	assert_non_null(s);
	strcpy(s, prefix);
	prev = strlen(s) - 2;
	strcat(s, "TuuE");
	for (int i = 0; i < levels; i++) {
		size_t here = strlen(s) - 2;

		base62(prev, ref);
		strcat(s, "TB");
		strcat(s, ref);
		strcat(s, "B");
		strcat(s, ref);
		strcat(s, "E");
		prev = here;
	}
	strcat(s, suffix);
	return s;
}

static void test_exponential_backrefs(void **state)
{
	char out[4096];
	char *shown = exponential_name("_RINvC1f1g", "E", 40);
	/* The same in an impl path, which is parsed but not shown. */
	char *hidden = exponential_name("_RNvMINvC1f1g", "Eu3foo", 40);
	char *small = exponential_name("_RINvC1f1g", "E", 2);

	(void)state;
	assert_int_equal(demangle_rust(shown, out, sizeof(out)), -E2BIG);
	assert_int_equal(demangle_rust(hidden, out, sizeof(out)), -E2BIG);
	/* The construction itself is right: two levels demangle. */
	assert_int_equal(demangle_rust(small, out, sizeof(out)), 0);
	assert_string_equal(out, "f::g::<((), ()), (((), ()), ((), ())), "
			    "((((), ()), ((), ())), (((), ()), ((), ())))>");
	free(shown);
	free(hidden);
	free(small);
}

static void test_deep_nesting(void **state)
{
	char name[600], out[256];

	(void)state;
	snprintf(name, sizeof(name), "_RINvC1f1g%0*dhE", 200, 0);
	memset(name + 10, 'S', 200);		/* [[[...[u8]...]]] */
	assert_int_equal(demangle_rust(name, out, sizeof(out)), -E2BIG);
	/* Within the limit it is fine. */
	snprintf(name, sizeof(name), "_RINvC1f1g%0*dhE", 100, 0);
	memset(name + 10, 'S', 100);
	assert_int_equal(demangle_rust(name, out, sizeof(out)), 0);
}

static void test_too_long(void **state)
{
	char *name = malloc(DEMANGLE_RUST_MAX_IN + 2), out[64];

	(void)state;
	assert_non_null(name);
	memset(name, 'a', DEMANGLE_RUST_MAX_IN + 1);
	memcpy(name, "_RNvC3foo", 9);
	name[DEMANGLE_RUST_MAX_IN + 1] = '\0';
	assert_int_equal(demangle_rust(name, out, sizeof(out)), -E2BIG);
	free(name);
}

static bool is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : -1;

		if (n < 0)
			return false;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* Every buffer size: a prefix of the whole text, cut between characters. */
static void test_truncation(void **state)
{
	static const char *const names[] = {
		"_RNvNtCs3JpXfVvpfaM_4featu13ncd_dma1a7bzbu9gre_6ka8l",
		"_RNvCs60fBPC9gAID_4moreu7bbrz78b",
		"_ZN4test12$u20ac$$u7e$17h0123456789abcdefE",
	};
	char full[256], out[256];

	(void)state;
	assert_int_equal(demangle_rust("_RNvC3foo3bar", out, 0), -ENOSPC);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;

		assert_int_equal(demangle_rust(names[i], full, sizeof(full)), 0);
		len = strlen(full);
		for (size_t size = 1; size <= len; size++) {
			memset(out, 'x', sizeof(out));
			assert_int_equal(demangle_rust(names[i], out, size), -ENOSPC);
			assert_true(strlen(out) < size);
			assert_true(size - strlen(out) <= 4);
			assert_memory_equal(out, full, strlen(out));
			assert_true(is_utf8(out));
		}
		assert_int_equal(demangle_rust(names[i], out, len + 1), 0);
		assert_string_equal(out, full);
	}
}

/* demangle(): C++ names still go to libstdc++; legacy Rust loses its hash. */
static void test_demangle_entry(void **state)
{
	char out[256];

	(void)state;
	assert_true(demangle("_ZN2ns6Worker3hotEi", out, sizeof(out)));
	assert_string_equal(out, "ns::Worker::hot(int)");
	assert_true(demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE", out,
			     sizeof(out)));
	assert_string_equal(out, "core::ptr::drop_in_place");
	assert_false(demangle("_RNvB_3foo", out, sizeof(out)));
	assert_false(demangle("main", out, sizeof(out)));
	assert_true(demangle("_RNvC3foo3bar", out, 5));
	assert_string_equal(out, "foo:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_names),
		cmocka_unit_test(test_grammar_names),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_exponential_backrefs),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_demangle_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
