"""Tests of the speed benchmark (benchmarks/speed.py) and its baselines (benchmarks/baselines.py), against each other
and the core."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import speed
from benchmarks.baselines import BeyondMimicStep, LoopBaseline
from benchmarks.stats import chi_square


def _loop(bins, frames, prior, *, uniform_ratio=0.1, additive=0.0, kernel_size=3, alpha=0.01, seed=0):
    return LoopBaseline(
        torch.tensor(bins),
        torch.tensor(frames),
        torch.tensor(prior, dtype=torch.float64),
        ema_alpha=alpha,
        kernel_size=kernel_size,
        kernel_decay=0.8,
        uniform_ratio=uniform_ratio,
        additive_uniform_ratio=additive,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
    )


def test_loop_matches_beyondmimic_step_on_one_motion():
    """With one clip, no mixture and BeyondMimic's additive term, the loop's distribution is BeyondMimic's."""
    num_bins = 12
    frames = num_bins * 50  # whole bins: BeyondMimic's (f * B) // T equals f // 50
    loop = _loop([num_bins], [frames], [1.0], uniform_ratio=0.0, additive=0.1)
    bm = BeyondMimicStep(
        num_bins,
        frames,
        ema_alpha=0.01,
        kernel_size=3,
        kernel_decay=0.8,
        uniform_ratio=0.1,
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(0),
    )
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        end = torch.randint(0, frames, (64,), generator=gen)
        failed = torch.rand(64, generator=gen) < 0.3
        loop.update(torch.zeros(64, dtype=torch.int64), end, failed)
        bm.step(end, failed, 8)
    loop.rebuild()
    p = bm.failed_count + 0.1 / num_bins
    p = torch.cat((p, p[-1:].expand(2)))
    taps = torch.tensor([0.8**u for u in range(3)])
    taps /= taps.sum()
    expected = torch.stack([(p[b : b + 3] * taps).sum() for b in range(num_bins)])
    expected /= expected.sum()
    torch.testing.assert_close(loop.probabilities(), expected, rtol=1e-5, atol=1e-9)


def test_loop_hand_computed_mixture():
    """Two clips, failures only in clip 0's last bin: kernel reaches back two bins, floor is the time prior."""
    # clip 0: 3 bins of 50, 50, 25 frames; clip 1: 2 bins of 50, 50 frames
    loop = _loop([3, 2], [125, 100], [0.5, 0.5], uniform_ratio=0.2, alpha=0.5)
    loop.update(torch.tensor([0, 1]), torch.tensor([110, 10]), torch.tensor([True, False]))
    loop.rebuild()
    taps = torch.tensor([1.0, 0.8, 0.64]) / 2.44
    s0 = torch.tensor([taps[2], taps[1] + taps[2], 1.0])  # q = [0, 0, 0.5], scaled out by normalisation
    fail = torch.cat((s0 / s0.sum(), torch.zeros(2)))
    prior = torch.tensor([0.5 * 50 / 125, 0.5 * 50 / 125, 0.5 * 25 / 125, 0.25, 0.25])
    torch.testing.assert_close(loop.probabilities(), 0.8 * fail + 0.2 * prior, rtol=1e-5, atol=1e-8)
    assert float(loop.probabilities().sum()) == pytest.approx(1.0, abs=1e-6)


def test_loop_without_failures_falls_back_to_prior():
    """Before any failure the failure part is empty and the distribution is the prior."""
    loop = _loop([2, 4], [100, 175], [0.25, 0.75])
    loop.rebuild()
    prior = torch.tensor([0.125, 0.125, 0.75 * 50 / 175, 0.75 * 50 / 175, 0.75 * 50 / 175, 0.75 * 25 / 175])
    torch.testing.assert_close(loop.probabilities(), prior, rtol=1e-5, atol=1e-8)


def test_loop_samples_follow_its_probabilities():
    """The loop's two-stage draw (motion, then bin by torch.multinomial) matches its flat table (chi-square)."""
    loop = _loop([3, 5, 2], [150, 230, 100], [0.2, 0.5, 0.3], alpha=0.3)
    gen = torch.Generator().manual_seed(2)
    for _ in range(3):
        ids = torch.randint(0, 3, (32,), generator=gen)
        loop.update(ids, torch.zeros(32, dtype=torch.int64) + 40, torch.rand(32, generator=gen) < 0.5)
    loop.rebuild()
    offsets = torch.tensor([0, 3, 8])
    counts = torch.zeros(10)
    for _ in range(20):
        motion_ids, frames = loop.sample(5000)
        assert bool((frames < torch.tensor([150, 230, 100])[motion_ids]).all())
        counts += torch.bincount(offsets[motion_ids] + frames // 50, minlength=10).float()
    assert chi_square(counts, loop.probabilities())["p_value"] > 1e-3


def test_scales_have_the_issue_sizes():
    """S4 has exactly one million bins; S3 about three million; every clip within its bin range."""
    gen = torch.Generator().manual_seed(0)
    by_name = {s.name: s for s in speed.SCALES}
    s4 = by_name["S4"].bins_per_motion(gen)
    assert int(s4.sum()) == 1_000_000 and s4.numel() == 10_000
    assert int(s4.min()) >= 20 and int(s4.max()) <= 180
    s3 = by_name["S3"].bins_per_motion(gen)
    assert 2_800_000 < int(s3.sum()) < 3_300_000
    frames = speed.make_library(s4[:50], gen)
    assert all((b - 1) * 50 < t <= b * 50 for b, t in zip(s4[:50].tolist(), frames, strict=True))


def test_cuda_request_without_cuda_exits_cleanly(capsys):
    """--device cuda without CUDA returns 2 with a message instead of a traceback."""
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert speed.main(["--device", "cuda", "--quick"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_bad_arguments_are_rejected():
    """Unknown scales and a thread count below 1 are usage errors."""
    with pytest.raises(SystemExit):
        speed.main(["--scales", "S9"])
    with pytest.raises(SystemExit):
        speed.main(["--threads", "0"])


def test_eager_floor_runs_every_pass_it_claims():
    """EagerFloor merges the pending sums, zeroes them and writes an int64 prefix sum of the mixed table."""
    floor = speed.EagerFloor(1000, 3, torch.device("cpu"))
    merged = floor.stats + floor.pending
    floor()
    assert torch.equal(floor.stats, merged)
    assert not floor.pending.any()
    assert floor.cdf.dtype == torch.int64
    assert torch.equal(floor.cdf, torch.cumsum(floor.probs.to(torch.int64), 0))


@pytest.mark.slow
def test_quick_s1_s2_end_to_end(tmp_path, capsys):
    """A quick profiled run at S1 and S2 on the real core: table and JSON written, probabilities equal the loop's,
    draws equal the earlier plain inverse CDF's, state bytes and S1 op counts reported."""
    pytest.importorskip("adaptive_sampling")
    out = tmp_path / "speed.json"
    assert speed.main(["--quick", "--scales", "S1,S2", "--profile", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| S1" in text and "| S2" in text
    data = json.loads(out.read_text())
    assert data["machine"]["threads"] == 1
    assert [r["scale"] for r in data["results"]] == ["S1", "S2"]
    for r in data["results"]:
        assert r["correctness"]["ok"], r["correctness"]
        assert r["times_s"]["amortised_step"] > 0
        # the eager floor is timed next to the rebuild it bounds, and reported as ratios
        assert r["times_s"]["eager_floor"] > 0
        assert r["ratios"]["rebuild_over_eager_floor"] == r["times_s"]["rebuild"] / r["times_s"]["eager_floor"]
        assert {"record", "rebuild", "sample"} <= set(r["profile"])
    assert {t["target"] for t in data["targets"]} >= {"S1 amortised step vs bm_step (validate_args=True)"}
    for r in data["results"]:
        assert r["draws_vs_plain_cdf"]["identical"], r["draws_vs_plain_cdf"]  # bit-identical to the earlier draw
        # small libraries: fixed buffers (record()'s work rows for 4,096 segments) dominate the bytes per bin
        assert 50 < r["state"]["bytes_per_bin"] < (2000 if r["num_bins"] > 10_000 else 20_000)
    ops = data["results"][0]["op_counts"]
    assert ops["record_sample_step"] > 0 and ops["bm_step"] > 0
