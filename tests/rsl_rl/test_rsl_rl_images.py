"""The sampler as pictures in the logger while training: heatmap and per-motion mass, every N iterations."""

from __future__ import annotations

import sys
import types

import pytest

pytest.importorskip("rsl_rl")
pytest.importorskip("matplotlib")

import numpy as np  # noqa: E402
from _rsl_rl_helpers import make_env, small_train_cfg  # noqa: E402
from adaptive_sampling_rsl_rl import AdaptiveSamplingRunner  # noqa: E402
from adaptive_sampling_rsl_rl.images import log_figure, writer_kind  # noqa: E402
from adaptive_sampling_rsl_rl.runner import IMAGES_PER_RUN, default_image_interval  # noqa: E402

from adaptive_sampling.plot import env_steps_title, motion_mass_figure, sampler_figure  # noqa: E402


def event_images(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"images": 0})
    acc.Reload()
    return {tag: acc.Images(tag) for tag in acc.Tags()["images"]}


def test_images_reach_tensorboard_every_n_iterations(tmp_path):
    """With image_interval=2, learn(5) logs the heatmap and the per-motion mass at iterations 0, 2 and 4 as PNG
    images in the TensorBoard event file."""
    runner = AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), image_interval=2)
    runner.learn(5)
    getattr(runner, "logger", runner).writer.flush()  # rsl-rl < 3.3: on the runner
    images = event_images(tmp_path)
    assert set(images) == {"Sampler/heatmap", "Sampler/motion_mass"}
    for events in images.values():
        assert [e.step for e in events] == [0, 2, 4]
        assert events[0].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
        assert events[0].width > 300 and events[0].height > 150
    assert runner.images_logged == 3


def test_resumed_learn_counts_iterations_on(tmp_path):
    """A second learn() continues the iteration count, so images land at the iterations rsl-rl logs scalars at."""
    runner = AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), image_interval=2)
    runner.learn(2)
    runner.learn(3)  # iterations 1..3 in rsl-rl 5 (it resumes at current_learning_iteration)
    getattr(runner, "logger", runner).writer.flush()  # rsl-rl < 3.3: on the runner
    # sorted: the two learn() calls may write two event files whose load order follows their names, which can put
    # the second call's image first (seen once on a loaded machine); what matters is which steps have one image
    steps = sorted(e.step for e in event_images(tmp_path)["Sampler/heatmap"])
    start = 1 if runner.current_learning_iteration == 3 else 2
    assert steps == sorted({0, *[i for i in range(start, start + 3) if i % 2 == 0]})


@pytest.mark.parametrize(("iterations", "interval"), [(1, 1), (30, 1), (60, 2), (3000, 100), (30000, 1000)])
def test_default_interval_logs_a_few_dozen(iterations, interval):
    """Without a configured interval a run of any length logs about IMAGES_PER_RUN images."""
    assert default_image_interval(iterations) == interval
    assert iterations // interval <= IMAGES_PER_RUN or interval == 1


def test_interval_zero_logs_none(tmp_path):
    """image_interval=0 turns the images off (scalars still logged)."""
    runner = AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), image_interval=0)
    runner.learn(2)
    assert runner.images_logged == 0


def test_bad_interval_is_refused(tmp_path):
    """A negative or non-integer interval raises, naming the argument."""
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="image_interval must be an int >= 0"):
            AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), image_interval=bad)


def test_without_matplotlib_training_goes_on_and_says_so_once(tmp_path, monkeypatch, capsys):
    """With matplotlib missing the run finishes, the scalars are logged, and one line says images are off."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    runner = AdaptiveSamplingRunner(make_env(), small_train_cfg(), log_dir=str(tmp_path), image_interval=1)
    runner.learn(3)
    out = capsys.readouterr().out
    assert out.count("sampler images are off") == 1
    assert runner.images_logged == 0 and runner.sampler_metrics
    assert (tmp_path / "model_2.pt").is_file()


def test_title_counts_all_env_steps():
    """9,600 steps of each of 64 envs are 614,400 env steps (the title used to say 9600)."""
    env = make_env(num_envs=64)
    sampler = env.adaptive_sampler
    for _ in range(9600):
        sampler.step()
    assert env_steps_title(sampler, 64) == "adaptive sampler after 614,400 env steps (9,600 per env x 64 envs)"
    assert "1,228,800 env steps (9,600 per env x 128 envs (2 ranks))" in env_steps_title(sampler, 64, world_size=2)


def test_heatmap_time_axis_is_in_seconds():
    """The heatmap's x axis is the time in the clip: it spans the longest clip's duration in seconds, and a clip's
    cells end where the clip ends."""
    import matplotlib.pyplot as plt

    env = make_env()
    sampler = env.adaptive_sampler
    lay = sampler.layout
    durations = (lay.num_frames.double() / lay.fps).tolist()
    fig = sampler_figure(sampler, title="t")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time in clip (s)"
    image = ax.get_images()[0]
    x0, x1, _, _ = image.get_extent()
    assert x0 == 0.0 and max(durations) <= x1 < max(durations) * 1.01
    data = image.get_array()
    columns = data.shape[1]
    for m, duration in enumerate(durations):
        filled = int((~np.ma.getmaskarray(data[m])).sum())
        assert abs(filled * x1 / columns - duration) <= 2 * x1 / columns, m
    plt.close(fig)
    fig = motion_mass_figure(sampler)
    bars = [p.get_width() for p in fig.axes[0].patches]
    mass = lay.segment_sum(sampler.probabilities.double())
    assert np.allclose(bars, mass.numpy())
    plt.close(fig)


class _FakeWriter:
    def __init__(self):
        self.images = []

    def add_image(self, tag, img, step, dataformats):
        self.images.append((tag, img.shape, step, dataformats))


def test_wandb_and_neptune_writers_get_the_image(monkeypatch):
    """rsl-rl's W&B writer: the image goes to TensorBoard and to wandb.log at the step; Neptune: appended to the
    tag's series."""
    import matplotlib.pyplot as plt

    logged = []
    fake_wandb = types.SimpleNamespace(Image=lambda a: ("image", a.shape), log=lambda d, step: logged.append((d, step)))
    monkeypatch.setitem(sys.modules, "wandb", fake_wandb)

    class WandbLogWriter(_FakeWriter):
        pass

    fig, _ = plt.subplots(figsize=(2, 1), dpi=50)
    writer = WandbLogWriter()
    rgb = log_figure(writer, "Sampler/heatmap", fig, 7)
    assert writer_kind(writer) == "wandb"
    assert writer.images == [("Sampler/heatmap", rgb.shape, 7, "HWC")] and rgb.dtype == np.uint8
    assert logged == [({"Sampler/heatmap": ("image", rgb.shape)}, 7)]

    appended = []

    class Series:
        def append(self, value, step):
            appended.append((value, step))

    neptune = types.ModuleType("neptune")
    neptune.types = types.SimpleNamespace(File=types.SimpleNamespace(as_image=lambda f: ("file", f)))
    monkeypatch.setitem(sys.modules, "neptune", neptune)
    monkeypatch.setitem(sys.modules, "neptune.types", neptune.types)

    class NeptuneLogWriter(_FakeWriter):
        run = {"Sampler/heatmap": Series()}

    log_figure(NeptuneLogWriter(), "Sampler/heatmap", fig, 3)
    assert appended == [(("file", fig), 3)]
    plt.close(fig)
    assert writer_kind(object()) == "tensorboard"
