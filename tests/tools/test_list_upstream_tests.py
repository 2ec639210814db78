"""The PORTED.md generator finds upstream tests and their ports by the stated rules."""

from __future__ import annotations

from pathlib import Path

from tests.tools import list_upstream_tests as tool

MEMBERSHIP_RS = """
mod api {
    #[test]
    fn can_transition() -> Result<()> { Ok(()) }
}

mod remove_voter {
    use super::*;
    #[test]
    fn stable() -> Result<()> { Ok(()) }
}
"""

RAFT_LOG_RS = """
#[cfg(test)]
mod test {
    #[test]
    fn test_restore() {}
}
"""


def fake_upstream(root: Path) -> None:
    for rel in tool.INTEGRATION_FILES + tool.UNIT_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    (root / "harness/tests/integration_cases/test_raft.rs").write_text(
        "#[test]\nfn test_restore() {}\n\n#[test]\nfn test_other() {}\n"
    )
    (root / "harness/tests/integration_cases/test_membership_changes.rs").write_text(MEMBERSHIP_RS)
    (root / "src/raft_log.rs").write_text(RAFT_LOG_RS)


def fake_repo(root: Path) -> None:
    tests = root / "tests" / "integration"
    tests.mkdir(parents=True)
    # Only raft_log's test_restore is ported; test_raft's must not borrow it.
    (root / "tests" / "test_raft_log.py").write_text("def test_restore():\n    pass\n")
    (tests / "test_raft_2.py").write_text(
        "# not ported: test_restore: needs a real disk\n"
        "import pytest\n\n@pytest.mark.xfail\ndef test_other():\n    pass\n"
    )
    (tests / "test_membership_changes.py").write_text(
        "def test_api__can_transition():\n    pass\n\n"
        "class TestRemoveVoter:\n    def test_stable(self):\n        pass\n"
    )


def test_upstream_tests_name_membership_modules(tmp_path: Path) -> None:
    fake_upstream(tmp_path)
    names = [
        t.name
        for t in tool.upstream_tests(
            tmp_path, "harness/tests/integration_cases/test_membership_changes.rs"
        )
    ]
    assert names == ["api::can_transition", "remove_voter::stable"]
    unit = tool.upstream_tests(tmp_path, "src/raft_log.rs")
    assert [t.name for t in unit] == ["test_restore"]


def test_owner_prefers_the_longest_file_stem() -> None:
    assert tool.owner("tests/integration/test_raft_2.py") == tool.INTEGRATION_FILES[0]
    assert tool.owner("tests/test_raft_log.py") == "src/raft_log.rs"
    assert tool.owner("tests/integration/test_raft_paper.py").endswith("test_raft_paper.rs")
    assert tool.owner("tests/test_raw_node_unit.py") == "src/raw_node.rs"
    assert tool.owner("tests/test_misc.py") is None


def test_table_lists_ports_reasons_and_missing(tmp_path: Path) -> None:
    upstream, repo = tmp_path / "up", tmp_path / "repo"
    fake_upstream(upstream)
    fake_repo(repo)
    text, missing = tool.build_table(upstream, repo)
    assert "| `test_restore` | `tests/test_raft_log.py::test_restore` |" in text
    assert "| `test_restore` | not ported | needs a real disk |" in text
    assert "`tests/integration/test_raft_2.py::test_other` | marked xfail |" in text
    assert "test_membership_changes.py::test_api__can_transition`" in text
    assert "test_membership_changes.py::TestRemoveVoter::test_stable`" in text
    assert missing == 0


def test_check_fails_on_a_test_without_port_or_reason(tmp_path: Path) -> None:
    upstream, repo = tmp_path / "up", tmp_path / "repo"
    fake_upstream(upstream)
    (repo / "tests").mkdir(parents=True)
    out = tmp_path / "PORTED.md"
    assert tool.main([str(upstream), "--repo", str(repo), "--write", str(out), "--check"]) == 1
    assert "**missing**" in out.read_text()
    assert tool.main([str(tmp_path / "nowhere"), "--repo", str(repo)]) == 2
