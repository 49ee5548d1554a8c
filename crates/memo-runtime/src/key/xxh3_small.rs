//! XXH3-128 (seed 0, default secret) of inputs up to 16 bytes held in a
//! `u128`, computed in registers.
//!
//! Small keys are assembled in an integer; handing them to the byte-slice API
//! would store them to memory and read them back as overlapping words, which
//! defeats store-to-load forwarding and costs more than the hash. This is the
//! same function as `xxhash_rust::xxh3::xxh3_128` for these lengths (the
//! tests below check every length against it), only without the round trip.

const SECRET: [u8; 96] = [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
];

const P64_1: u64 = 0x9E37_79B1_85EB_CA87;
const P64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P64_3: u64 = 0x1656_67B1_9E37_79F9;
const P32_2: u32 = 0x85EB_CA77;

const fn rd64(at: usize) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i < 8 {
        v |= (SECRET[at + i] as u64) << (8 * i);
        i += 1;
    }
    v
}

const fn rd32(at: usize) -> u64 {
    rd64(at) & 0xFFFF_FFFF
}

#[inline(always)]
fn xxh64_avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P64_2);
    h ^= h >> 29;
    h = h.wrapping_mul(P64_3);
    h ^ (h >> 32)
}

#[inline(always)]
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 37;
    h = h.wrapping_mul(0x1656_6791_9E37_79F9);
    h ^ (h >> 32)
}

#[inline(always)]
fn mul128(a: u64, b: u64) -> (u64, u64) {
    let p = u128::from(a) * u128::from(b);
    (p as u64, (p >> 64) as u64)
}

#[inline(always)]
fn join(lo: u64, hi: u64) -> u128 {
    u128::from(lo) | (u128::from(hi) << 64)
}

/// XXH3-128 of the first `len` (at most 16) little-endian bytes of `data`.
#[inline(always)]
pub(crate) fn xxh3_128(data: u128, len: usize) -> u128 {
    debug_assert!(len <= 16);
    let byte = |i: usize| (data >> (8 * i)) as u8;
    if len > 8 {
        let lo = data as u64;
        let mut hi = (data >> (8 * (len - 8))) as u64;
        let (mut m_lo, mut m_hi) = mul128(lo ^ hi ^ (rd64(32) ^ rd64(40)), P64_1);
        m_lo = m_lo.wrapping_add(((len as u64) - 1) << 54);
        hi ^= rd64(48) ^ rd64(56);
        m_hi = m_hi
            .wrapping_add(hi.wrapping_add(u64::from(hi as u32).wrapping_mul(u64::from(P32_2 - 1))));
        m_lo ^= m_hi.swap_bytes();
        let (r_lo, mut r_hi) = mul128(m_lo, P64_2);
        r_hi = r_hi.wrapping_add(m_hi.wrapping_mul(P64_2));
        join(avalanche(r_lo), avalanche(r_hi))
    } else if len >= 4 {
        let lo = data as u32 as u64;
        let hi = (data >> (8 * (len - 4))) as u32 as u64;
        let keyed = lo.wrapping_add(hi << 32) ^ (rd64(16) ^ rd64(24));
        let (mut lo, mut hi) = mul128(keyed, P64_1.wrapping_add((len as u64) << 2));
        hi = hi.wrapping_add(lo << 1);
        lo ^= hi >> 3;
        lo ^= lo >> 35;
        lo = lo.wrapping_mul(0x9FB2_1C65_1E98_DF25);
        lo ^= lo >> 28;
        join(lo, avalanche(hi))
    } else if len > 0 {
        let (c1, c2, c3) = (byte(0) as u32, byte(len >> 1) as u32, byte(len - 1) as u32);
        let input_lo = (c1 << 16) | (c2 << 24) | c3 | ((len as u32) << 8);
        let input_hi = input_lo.swap_bytes().rotate_left(13);
        let k_lo = u64::from(input_lo) ^ (rd32(0) ^ rd32(4));
        let k_hi = u64::from(input_hi) ^ (rd32(8) ^ rd32(12));
        join(xxh64_avalanche(k_lo), xxh64_avalanche(k_hi))
    } else {
        join(
            xxh64_avalanche(rd64(64) ^ rd64(72)),
            xxh64_avalanche(rd64(80) ^ rd64(88)),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn equals_the_reference_for_every_length() {
        let mut x = 0x0123_4567_89ab_cdef_u64;
        for _ in 0..2000 {
            let mut bytes = [0u8; 16];
            for b in bytes.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            for len in 0..=16 {
                let mut word = [0u8; 16];
                word[..len].copy_from_slice(&bytes[..len]);
                assert_eq!(
                    super::xxh3_128(u128::from_le_bytes(word), len),
                    xxhash_rust::xxh3::xxh3_128(&bytes[..len]),
                    "len {len}"
                );
            }
        }
    }
}
