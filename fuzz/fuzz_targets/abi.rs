//! The raw ABI driven with arbitrary calls: any sequence of alloc, free and verify with any
//! pointers and lengths must neither trap nor return anything but a verdict.
#![no_main]

mod wasm_host;

use libfuzzer_sys::fuzz_target;

fn word(data: &[u8], at: usize) -> i32 {
    let mut bytes = [0u8; 4];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = data.get(at + i).copied().unwrap_or(0);
    }
    i32::from_le_bytes(bytes)
}

fuzz_target!(|data: &[u8]| {
    let mut guest = wasm_host::Guest::new();
    let alloc = guest.func::<i32, i32>("ocisig_alloc");
    let free = guest.func::<(i32, i32), ()>("ocisig_free");
    let verify = guest.func::<(i32, i32, i32, i32), i64>("ocisig_verify");
    let mut live: Vec<(i32, i32)> = Vec::new();
    for op in data.chunks(17).take(64) {
        let (a, b, c, d) = (word(op, 1), word(op, 5), word(op, 9), word(op, 13));
        match op[0] % 4 {
            0 => {
                let len = a & 0xffff;
                let ptr = alloc.call(&mut guest.store, len).expect("alloc trapped");
                if ptr != 0 {
                    live.push((ptr, len));
                }
            }
            1 => free
                .call(&mut guest.store, (a, b))
                .expect("free of anything must not trap"),
            2 => {
                // Real buffers, sliced arbitrarily.
                let pick = |n: i32| {
                    live.get((n as u32 as usize) % live.len().max(1))
                        .copied()
                        .unwrap_or((a, b))
                };
                let ((pp, pl), (ep, el)) = (pick(a), pick(b));
                let packed = verify
                    .call(
                        &mut guest.store,
                        (
                            pp.wrapping_add(c & 7),
                            pl.wrapping_sub(c & 7),
                            ep,
                            el.min(d.wrapping_abs()),
                        ),
                    )
                    .expect("verify trapped");
                let verdict: serde_json::Value =
                    serde_json::from_str(&guest.output(packed)).unwrap();
                assert_eq!(verdict["verified"], false);
            }
            _ => {
                let packed = verify
                    .call(&mut guest.store, (a, b, c, d))
                    .expect("verify trapped");
                let verdict: serde_json::Value =
                    serde_json::from_str(&guest.output(packed)).unwrap();
                assert_eq!(verdict["verified"], false);
            }
        }
    }
});
