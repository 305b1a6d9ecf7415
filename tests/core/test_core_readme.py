"""Every ```python block of the README runs as written, so the README cannot drift from the API."""

from __future__ import annotations

import pathlib

import pytest
import torch

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"

# Blocks that cannot run in a unit test, by the heading of their section, with the reason.
SKIPPED = {
    "rsl-rl": "needs an rsl-rl environment and PPO configuration (env, train_cfg, log_dir, a checkpoint path); "
    "the runner's own tests in tests/rsl_rl run this wiring",
    "From training to a robot": "needs a policy.onnx exported from a trained checkpoint; "
    "tests/rsl_rl/test_rsl_rl_export.py runs this reader on a real export",
}


def python_blocks() -> list[tuple[str, int, str]]:
    """(section heading, line number, code) of every ```python block."""
    blocks = []
    heading = ""
    if not README.is_file():  # a copy of tests/ without the repository (the release check's wheel run)
        return blocks
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            heading = line[3:].strip()
        if line.strip() == "```python":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            blocks.append((heading, i + 2, "\n".join(lines[i + 1 : end])))
            i = end
        i += 1
    return blocks


BLOCKS = python_blocks()
pytestmark = pytest.mark.skipif(not README.is_file(), reason="needs the repository's README.md")


@pytest.mark.parametrize(("heading", "line", "code"), BLOCKS, ids=[f"{h}:{n}" for h, n, _ in BLOCKS])
def test_readme_python_block_runs(heading, line, code, capsys):
    """The block executes in a fresh namespace without raising (and prints what it says it prints). The sampler's
    default value checks (validate_args) make a loop block fail if it records an end frame past the clip or before
    its start, or forgets to reset the frames of the envs it restarted."""
    if heading in SKIPPED:
        pytest.skip(SKIPPED[heading])
    if 'device="cuda"' in code and not torch.cuda.is_available():
        pytest.skip("a CUDA block: runs where torch sees a GPU (scripts/gpu_check.sh)")
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})  # noqa: S102
    if "print(" in code:
        assert capsys.readouterr().out.strip(), "the block prints nothing"


def test_readme_blocks_are_found_and_skip_list_is_current():
    """The README has python blocks, the loop section's block is among those that run, and every skipped heading
    still holds a python block (a stale entry would hide a new block)."""
    headings = [h for h, _, _ in BLOCKS]
    assert "Use in any torch RL loop" in headings
    assert set(SKIPPED) <= set(headings), set(SKIPPED) - set(headings)
    assert any(h not in SKIPPED for h in headings)
