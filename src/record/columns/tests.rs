use proptest::prelude::*;

use super::*;

/// What [`unpack`] replaced, kept as the reference it must agree with: postcard's
/// `Vec<i64>` of the inflated bytes, then the deltas undone column by column.
fn reference(
    data: &[u8],
    (n, w): (usize, usize),
    base: Option<&[u64]>,
    is_counter: impl Fn(usize) -> bool,
) -> Result<Vec<u64>, BlockError> {
    let limit = n * w * MAX_VARINT_BYTES + MAX_VARINT_BYTES;
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit)
        .map_err(|_| BlockError::Corrupt("deflate stream"))?;
    let columns: Vec<i64> =
        postcard::from_bytes(&raw).map_err(|_| BlockError::Corrupt("column varints"))?;
    if columns.len() != n * w {
        return Err(BlockError::Corrupt(
            "column length does not match count × width",
        ));
    }
    // Each column: its start (the base's value, or its first value as stored), then running
    // sums of its deltas (a counter's deltas being running sums of what is stored).
    let mut rows = vec![0u64; n * w];
    for c in 0..w {
        let coded = &columns[c * n..(c + 1) * n];
        let (start, stored) = match base {
            Some(b) => (b[c] as i64, coded),
            None => (coded[0], &coded[1..]),
        };
        let deltas: Vec<i64> = if is_counter(c) {
            stored
                .iter()
                .scan(0i64, |d, &x| {
                    *d = d.wrapping_add(x);
                    Some(*d)
                })
                .collect()
        } else {
            stored.to_vec()
        };
        let first = usize::from(base.is_none());
        if base.is_none() {
            rows[c] = start as u64;
        }
        let mut v = start;
        for (i, d) in deltas.into_iter().enumerate() {
            v = v.wrapping_add(d);
            rows[(first + i) * w + c] = v as u64;
        }
    }
    Ok(rows)
}

fn odd(c: usize) -> bool {
    c % 2 == 1
}

fn packed(rows: &[u64], shape: (usize, usize), base: Option<&[u64]>) -> Vec<u8> {
    let mut columns = Vec::new();
    encode(rows, shape, base, odd, &mut columns);
    pack(&columns)
}

fn deflated(raw: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(raw, 6)
}

#[test]
fn rows_come_back_with_and_without_a_base() {
    let (n, w) = (4, 3);
    let rows: Vec<u64> = vec![
        5,
        u64::MAX,
        0,
        7,
        0,
        1 << 63,
        9,
        1,
        42,
        1_000_000,
        u64::MAX - 1,
        3,
    ];
    let base = [u64::MAX, 2, 1 << 40];
    for b in [None, Some(&base[..])] {
        let data = packed(&rows, (n, w), b);
        assert_eq!(unpack(&data, (n, w), b, odd), Ok(rows.clone()));
    }
}

#[test]
fn damage_is_named_as_postcard_named_it() {
    let shape = (2, 2);
    let varints = |v: &[u8]| deflated(v);
    // Length 4, then four one-byte varints (zigzag: 1, 2, 3, 4), then trailing bytes
    // (ignored, as by postcard). Column 0 holds 1 then 1 + 2; column 1, a counter, 3 then
    // 3 + 4 (no delta before it).
    let ok = varints(&[4, 2, 4, 6, 8, 0xFF]);
    assert_eq!(unpack(&ok, shape, None, odd), Ok(vec![1, 3, 3, 7]));
    assert_eq!(reference(&ok, shape, None, odd), Ok(vec![1, 3, 3, 7]));
    let cases: [(&[u8], &str); 5] = [
        (&[4, 2, 4, 6], "column varints"),
        (&[3, 2, 4, 6], "column length does not match count × width"),
        (&[5, 2, 4, 6, 8], "column varints"),
        (&[4, 2, 4, 6, 0x80], "column varints"),
        (
            &[
                4, 2, 4, 6, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02,
            ],
            "column varints",
        ),
    ];
    for (raw, why) in cases {
        assert_eq!(
            unpack(&varints(raw), shape, None, odd),
            Err(BlockError::Corrupt(why)),
            "{raw:?}"
        );
        assert_eq!(
            reference(&varints(raw), shape, None, odd),
            Err(BlockError::Corrupt(why))
        );
    }
    let cut = &ok[..ok.len() - 2];
    assert_eq!(
        unpack(cut, shape, None, odd),
        Err(BlockError::Corrupt("deflate stream"))
    );
    // More inflated bytes than the shape can need.
    let long = deflated(&[0; 64]);
    assert_eq!(
        unpack(&long, shape, None, odd),
        Err(BlockError::Corrupt("deflate stream"))
    );
}

/// A block that inflates to far more than its deflated size (the buffer grows as the
/// stream gives), then one whose header claims a huge shape over a few bytes (the buffer
/// does not grow to the claim).
#[test]
fn the_buffer_grows_with_the_stream_not_with_the_claim() {
    let (n, w) = (2000, 4);
    let rows: Vec<u64> = (0..n * w)
        .map(|k| if (k / w) % 2 == 0 { 0 } else { u64::MAX / 3 })
        .collect();
    let data = packed(&rows, (n, w), None);
    assert!(data.len() * 20 < n * w * 9, "{} bytes deflated", data.len());
    assert_eq!(unpack(&data, (n, w), None, odd), Ok(rows));
    // 2³⁰ rows × columns said, and by the length varint too: 8 GiB of rows were never
    // there to read.
    let claim = (1 << 20, 1 << 10);
    assert_eq!(
        unpack(&deflated(&[0x80, 0x80, 0x80, 0x80, 0x04]), claim, None, odd),
        Err(BlockError::Corrupt("column varints"))
    );
    INFLATER.with_borrow(|i| assert!(i.out.len() <= 1 << 20, "{} bytes kept", i.out.len()));
}

proptest! {
    #[test]
    fn agrees_with_postcard_on_any_rows(
        (n, w, rows, base) in (1usize..20, 1usize..12).prop_flat_map(|(n, w)| (
            Just(n),
            Just(w),
            prop::collection::vec(any::<u64>(), n * w),
            prop::option::of(prop::collection::vec(any::<u64>(), w)),
        ))
    ) {
        let data = packed(&rows, (n, w), base.as_deref());
        let got = unpack(&data, (n, w), base.as_deref(), odd);
        prop_assert_eq!(&got, &reference(&data, (n, w), base.as_deref(), odd));
        prop_assert_eq!(got, Ok(rows));
    }

    #[test]
    fn agrees_with_postcard_on_any_inflated_bytes(
        raw in prop::collection::vec(any::<u8>(), 0..80),
        n in 1usize..6,
        w in 1usize..6,
    ) {
        let data = deflated(&raw);
        prop_assert_eq!(unpack(&data, (n, w), None, odd), reference(&data, (n, w), None, odd));
    }

    #[test]
    fn agrees_with_postcard_on_any_deflated_bytes(
        data in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        prop_assert_eq!(unpack(&data, (3, 2), None, odd), reference(&data, (3, 2), None, odd));
    }
}
