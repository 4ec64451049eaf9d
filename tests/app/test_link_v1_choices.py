"""Version-1 links keep showing what they showed: choices added later are written out with
the value version 1 behaved as."""

from app.link_v1 import migrate_v1


def test_version_1_links_keep_par_ns_zero():
    params = migrate_v1([("v", "1"), ("preset", "4k-48")], [])
    assert ("c.par_ns", "zero") in params
    kept = migrate_v1([("v", "1"), ("preset", "4k-48"), ("c.par_ns", "pa_space")], [])
    assert ("c.par_ns", "zero") not in kept
