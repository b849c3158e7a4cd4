"""Properties over random policies: determinism, nothing lost or duplicated, order independence."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulec import pipeline
from rulec.compile.resolve import Origin, collapse
from rulec.errors import Position
from rulec.load.domains import covers

label = st.sampled_from(["a", "b", "api", "www", "pypi", "files", "x1", "cdn"])
name = st.lists(label, min_size=1, max_size=3).map(lambda ls: ".".join(ls) + ".example.org")
target = st.tuples(st.booleans(), name).map(lambda t: ("." if t[0] else "") + t[1])
targets = st.lists(target, max_size=25)


@given(targets)
def test_collapse_loses_nothing_and_duplicates_nothing(raw):
    kept, collapsed = collapse([(t, Origin(Position("p", i + 1, 1))) for i, t in enumerate(raw)])
    names = [t.name for t in kept]
    assert len(names) == len(set(names))
    assert not any(covers(a, b) for a in names for b in names if a != b)  # nothing left that another covers
    for t in raw:  # every input is kept, or merged into a kept target that covers it
        assert t in names or any(
            c.name == t and c.into in names and (c.into == t or covers(c.into, t)) for c in collapsed
        )
    assert sum(len(t.origins) for t in kept) == len(raw)  # every origin is accounted for once
    assert len({id(c.origin) for c in collapsed}) == len(collapsed)  # and reported at most once
    assert len(collapsed) == len(raw) - len(kept)  # every writing that is not a kept target's first


@given(targets, st.randoms(use_true_random=False))
def test_collapse_keeps_the_same_set_whatever_the_order(raw, rnd):
    shuffled = list(raw)
    rnd.shuffle(shuffled)
    a, _ = collapse([(t, Origin(Position("p"))) for t in raw])
    b, _ = collapse([(t, Origin(Position("p"))) for t in shuffled])
    assert {t.name for t in a} == {t.name for t in b}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(targets.filter(bool), st.lists(st.sampled_from(["FTP", "SSH", "ICMP", "SMB", "DNS"]), unique=True))
def test_build_is_deterministic_bytes(write_policy, raw, deny):
    p = write_policy(
        f"version: 1\ndeny_protocols: [{', '.join(deny)}]\nregions:\n  eu-west-1:\n"
        f"    home_net: [10.0.0.0/16]\n    allow: [{', '.join(raw)}]\n"
    )
    first, second = pipeline.build(p), pipeline.build(p)
    assert first.files == second.files and first.lock_bytes == second.lock_bytes
    pipeline.validate(first)  # every request fits its API schema (build leaves this to check, push and export)
    assert first.schemas and all(rel in first.files for rel in first.schemas)
