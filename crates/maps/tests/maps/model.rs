//! Model-based test: random operation sequences against every map and
//! against std's `HashMap`, every return value compared.

use std::collections::HashMap;

use mapknee_maps::{ConcurrentMap, MapVisitor};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::common::{build, for_each_map};

/// Keys drawn from a small space so operations collide on the same keys.
const KEYS: u64 = 8;
/// Values from a small space so `compare_and_swap` often sees its `current`.
const VALUES: u64 = 4;

#[derive(Debug, Clone)]
enum Op {
    Get(u64),
    Insert(u64, u64),
    GetOrInsert(u64, u64),
    CompareAndSwap(u64, u64, u64),
    Remove(u64),
    Len,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS;
    let v = || 0..VALUES;
    prop_oneof![
        k.clone().prop_map(Op::Get),
        (k.clone(), v()).prop_map(|(k, v)| Op::Insert(k, v)),
        (k.clone(), v()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
        (k.clone(), v(), v()).prop_map(|(k, c, n)| Op::CompareAndSwap(k, c, n)),
        k.prop_map(Op::Remove),
        Just(Op::Len),
    ]
}

/// Runs a sequence on a fresh map and on the model.
struct RunOps<'a>(&'a [Op]);

impl MapVisitor<u64, u64> for RunOps<'_> {
    type Output = Result<(), TestCaseError>;

    fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, map: M) -> Self::Output {
        let mut model: HashMap<u64, u64> = HashMap::new();
        for (i, op) in self.0.iter().enumerate() {
            match *op {
                Op::Get(k) => {
                    prop_assert_eq!(map.get(&k), model.get(&k).copied(), "op {}: {:?}", i, op)
                }
                Op::Insert(k, v) => {
                    prop_assert_eq!(map.insert(k, v), model.insert(k, v), "op {}: {:?}", i, op)
                }
                Op::GetOrInsert(k, v) => {
                    let expected = model.get(&k).copied();
                    model.entry(k).or_insert(v);
                    prop_assert_eq!(map.get_or_insert(k, v), expected, "op {}: {:?}", i, op)
                }
                Op::CompareAndSwap(k, current, new) => {
                    let expected = match model.get_mut(&k) {
                        Some(v) if *v == current => {
                            *v = new;
                            true
                        }
                        _ => false,
                    };
                    prop_assert_eq!(
                        map.compare_and_swap(&k, &current, new),
                        expected,
                        "op {}: {:?}",
                        i,
                        op
                    )
                }
                Op::Remove(k) => {
                    prop_assert_eq!(map.remove(&k), model.remove(&k), "op {}: {:?}", i, op)
                }
                Op::Len => {
                    prop_assert_eq!(map.len(), model.len(), "op {}: {:?}", i, op);
                    prop_assert_eq!(map.is_empty(), model.is_empty(), "op {}: {:?}", i, op)
                }
            }
        }
        // The final state, key by key, and the stats' length.
        for k in 0..KEYS {
            prop_assert_eq!(map.get(&k), model.get(&k).copied(), "final key {}", k);
        }
        prop_assert_eq!(map.stats().len, model.len(), "final stats().len");
        Ok(())
    }
}

#[test]
fn model_every_map_matches_std_hashmap() {
    let (cases, max_ops) = if cfg!(miri) { (4, 24) } else { (64, 200) };
    for_each_map(|kind| {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&vec(op(), 0..=max_ops), |ops| build(kind, 0, RunOps(&ops)));
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}
