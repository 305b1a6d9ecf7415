"""The command line: plot from a bare state dict, error paths, and the motions dispatch."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch

from adaptive_sampling import AdaptiveSampler, AdaptiveSamplerCfg
from adaptive_sampling.cli import main
from adaptive_sampling.plot import find_sampler_state


def trained_sampler() -> AdaptiveSampler:
    sampler = AdaptiveSampler(
        AdaptiveSamplerCfg(seed=0, rebuild_every=1), [120, 300, 90], [30.0, 50.0, 30.0], ["jump", "walk", "spin"]
    )
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        ids = torch.randint(0, 3, (8,), generator=g)
        ends = (torch.rand(8, generator=g) * torch.tensor([120, 300, 90])[ids]).long()
        sampler.record(ids, torch.zeros_like(ends), ends, ids == 0)
        sampler.step()
    return sampler


def test_plot_bare_state_dict(tmp_path, capsys):
    """A bare AdaptiveSampler.state_dict() file renders to a PNG."""
    pytest.importorskip("matplotlib")
    path = tmp_path / "sampler.pt"
    torch.save(trained_sampler().state_dict(), path)
    out = tmp_path / "out" / "heat.png"
    assert main(["plot", str(path), "-o", str(out), "--title", "t"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "3 motions" in capsys.readouterr().out


def test_find_sampler_state_locations():
    """The state is found bare, under the checkpoint keys, or one level down; otherwise a ValueError lists keys."""
    state = trained_sampler().state_dict()
    assert find_sampler_state(state) is not state and find_sampler_state(state)["layout"] == state["layout"]
    assert find_sampler_state({"adaptive_sampler_state_dict": state, "iter": 3})["clock"] == state["clock"]
    assert find_sampler_state({"infos": {"adaptive_sampler": state}})["clock"] == state["clock"]
    with pytest.raises(ValueError, match="holds no adaptive sampler state.*iter"):
        find_sampler_state({"iter": 3, "actor_state_dict": {}})
    with pytest.raises(TypeError, match="checkpoint must be a dict"):
        find_sampler_state([1, 2])


def test_plot_errors_exit_nonzero(tmp_path, capsys):
    """A missing file or a checkpoint without sampler state exits 1 with a message; no command exits 2."""
    assert main(["plot", str(tmp_path / "missing.pt")]) == 1
    assert "does not exist" in capsys.readouterr().err
    path = tmp_path / "plain.pt"
    torch.save({"iter": 1}, path)
    assert main(["plot", str(path)]) == 1
    assert "no adaptive sampler state" in capsys.readouterr().err
    assert main([]) == 2


def test_motions_dispatch(monkeypatch):
    """`adaptive-sampling motions ...` hands the rest of the arguments to adaptive_sampling_motions.cli.main."""
    seen = {}
    fake = types.ModuleType("adaptive_sampling_motions.cli")

    def fake_main(argv):
        seen["argv"] = argv
        return 7

    fake.main = fake_main
    monkeypatch.setitem(sys.modules, "adaptive_sampling_motions.cli", fake)
    assert main(["motions", "info", "x.npz", "--json"]) == 7
    assert seen["argv"] == ["info", "x.npz", "--json"]


def test_motions_missing_gives_clear_error(monkeypatch, capsys):
    """Without the motions package the command exits 2 and says what to install."""
    import importlib

    real = importlib.import_module

    def fail(name, *args, **kwargs):
        if name.startswith("adaptive_sampling_motions"):
            raise ImportError("No module named 'adaptive_sampling_motions'")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "adaptive_sampling_motions.cli", raising=False)
    monkeypatch.setattr(importlib, "import_module", fail)
    assert main(["motions", "info"]) == 2
    assert "adaptive-sampling-rl[motions]" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    """`python -m adaptive_sampling --help` runs the same command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "adaptive_sampling", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "plot" in proc.stdout


@pytest.mark.parametrize("argv", [["motions", "--help"], ["motions", "info", "x.npz"]])
def test_motions_without_numpy_gives_clear_error(monkeypatch, capsys, argv):
    """Without numpy (a plain `pip install adaptive-sampling`), `motions --help` and the commands exit 2 with the
    extra to install, as `plot` does without matplotlib, instead of a ModuleNotFoundError traceback."""
    for name in [m for m in sys.modules if m.startswith("adaptive_sampling_motions")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` raises ModuleNotFoundError
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "adaptive-sampling-rl[motions]" in err and "numpy" in err
