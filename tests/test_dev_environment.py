"""`dev.py` syncs .venv only when the lock file changed or an extra is missing: the demo run
after the tests must not sync the environment again without the Ray extra."""

from pathlib import Path

import pytest

import dev


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tradegraph").touch()
    monkeypatch.setattr(dev, "BIN", bin_dir)
    monkeypatch.setattr(dev, "STAMP", tmp_path / ".tradegraph-lock")
    return tmp_path


def test_an_environment_synced_with_ray_serves_the_demo_without_a_sync(venv: Path) -> None:
    dev.STAMP.write_text("abc ray")

    assert dev._synced("abc", ())
    assert dev._synced("abc", ("ray",))


def test_a_missing_extra_a_new_lock_or_no_stamp_needs_a_sync(venv: Path) -> None:
    dev.STAMP.write_text("abc")

    assert not dev._synced("abc", ("ray",))
    assert not dev._synced("def", ())
    dev.STAMP.write_text("")
    assert not dev._synced("abc", ())
    dev.STAMP.unlink()
    assert not dev._synced("abc", ())
