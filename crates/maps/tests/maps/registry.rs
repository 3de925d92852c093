//! Map names: parsing, round trips, errors, and building every map.

use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapVisitor};

#[test]
fn names_round_trip() {
    for name in [
        "rwlock",
        "mutex",
        "sharded",
        "sharded:16",
        "sharded-unpadded",
        "sharded-unpadded:1",
        #[cfg(feature = "peers")]
        "dashmap",
        #[cfg(feature = "peers")]
        "papaya",
        #[cfg(feature = "peers")]
        "scc",
        "synthetic:2us",
        "synthetic:500ns",
        "synthetic:3ms",
        "synthetic:1s",
    ] {
        let kind: MapKind = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(kind.name(), name);
        assert_eq!(kind.to_string().parse::<MapKind>().unwrap(), kind);
    }
}

#[test]
fn parameters_parse_to_values() {
    let parse = |s: &str| s.parse::<MapKind>().unwrap();
    assert_eq!(parse("sharded"), MapKind::Sharded { shards: None });
    assert_eq!(parse("sharded:16"), MapKind::Sharded { shards: Some(16) });
    // Rounded up to a power of two, and the name says what was built.
    assert_eq!(
        parse("sharded-unpadded:5"),
        MapKind::ShardedUnpadded { shards: Some(8) }
    );
    assert_eq!(parse("sharded:5").name(), "sharded:8");
    assert_eq!(
        parse("synthetic:1.5us"),
        MapKind::Synthetic(std::time::Duration::from_nanos(1_500))
    );
}

#[test]
fn bad_names_give_one_line_errors() {
    for (name, expected) in [
        ("btree", "unknown map 'btree'"),
        ("", "unknown map"),
        ("sharded:0", "bad shard count '0'"),
        ("sharded:x", "bad shard count 'x'"),
        ("sharded:", "bad shard count ''"),
        ("sharded-unpadded:-1", "bad shard count '-1'"),
        ("sharded:1000000", "bad shard count"),
        ("synthetic", "needs a hold duration"),
        ("synthetic:fast", "bad duration 'fast'"),
        ("synthetic:0ns", "must be greater than zero"),
        ("rwlock:2", "takes no parameter"),
        #[cfg(feature = "peers")]
        ("dashmap:4", "takes no parameter"),
        #[cfg(not(feature = "peers"))]
        ("dashmap", "feature `peers`"),
    ] {
        let err = name.parse::<MapKind>().unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "'{name}' gave '{err}', expected '{expected}'"
        );
        assert!(
            !err.contains('\n'),
            "'{name}' gave a multi-line error: {err}"
        );
    }
}

#[test]
fn catalogue_lists_every_map_once() {
    let names: Vec<&str> = MapKind::catalogue().into_iter().map(|(n, _)| n).collect();
    for name in crate::common::TEST_MAPS {
        let head = name.split(':').next().unwrap();
        let listed = names
            .iter()
            .filter(|n| n.split(['[', ':']).next() == Some(head))
            .count();
        assert_eq!(listed, 1, "{name} in catalogue {names:?}");
    }
}

/// Builds, inserts one key, and reads it back.
struct Smoke;

impl MapVisitor<String, u64> for Smoke {
    type Output = (Option<u64>, usize);
    fn visit<M: ConcurrentMap<String, u64> + 'static>(self, map: M) -> Self::Output {
        map.insert("k".to_owned(), 7);
        (map.get(&"k".to_owned()), map.stats().len)
    }
}

#[test]
fn every_map_builds_with_both_hashers_and_non_copy_keys() {
    for name in crate::common::TEST_MAPS {
        let kind: MapKind = name.parse().unwrap();
        for hasher in [HasherKind::Foldhash, HasherKind::SipHash] {
            assert_eq!(
                kind.build(hasher, 16, Smoke),
                (Some(7), 1),
                "{name} {hasher:?}"
            );
        }
    }
}
