"""A release that cannot be written (the disk under app_path is full, a real small tmpfs)
fails its step and leaves no half-written `releases/.<id>.partial` behind."""

import os

from tests.support.full_disk import small_disk


def test_a_failed_release_leaves_no_partial_directory(harness):
    with small_disk(harness.ws.app_path, size="512k"):
        harness.ws.commit("too big for the disk", {"BIG": os.urandom(512 * 1024).hex()})
        record = harness.deploy()
        assert record.status == "failed", record.error
        assert harness.steps(record)["release"] == "failed"
        releases = harness.ws.app_path / "releases"
        assert releases.is_dir()
        assert sorted(p.name for p in releases.iterdir()) == []
