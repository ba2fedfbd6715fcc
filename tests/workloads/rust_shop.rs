// SPDX-License-Identifier: MIT
//! Ground truth of tests/e2e/test_rust_names.py: spins in a generic method,
//! <rust_shop::shop::Checkout<u8>>::price, for argv[1] seconds. Built with
//! v0 symbol names by the Makefile (Debian's rustc).

use std::time::{Duration, Instant};

pub mod shop {
    pub struct Checkout<T> {
        pub items: Vec<T>,
    }

    impl<T: Copy + Into<u64>> Checkout<T> {
        #[inline(never)]
        pub fn price(&self, rounds: u64) -> u64 {
            let mut sum = 0u64;
            for r in 0..rounds {
                for &item in &self.items {
                    sum = sum.wrapping_mul(31).wrapping_add(item.into() ^ r);
                }
            }
            sum
        }
    }
}

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let checkout = shop::Checkout { items: (0..64u8).collect::<Vec<u8>>() };
    let end = Instant::now() + Duration::from_secs(secs);
    let mut total = 0u64;
    while Instant::now() < end {
        total = total.wrapping_add(checkout.price(2000));
    }
    println!("{}", total);
}
