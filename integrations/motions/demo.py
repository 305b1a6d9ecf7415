"""Demo motions for the Unitree G1, made from our own joint trajectories (no motion-capture download).

Four short clips of different lengths and frame rates; ``quick_squat`` holds a hard segment (a fast, deep
squat-and-rise with an arm swing in half a second) for the adaptive sampler to find. Each clip is written as a
LAFAN1-G1-style CSV and converted with the same code as ``adaptive-sampling motions convert`` (MuJoCo forward
kinematics of the G1, finite-difference velocities, names), then validated against the G1.

The legs move symmetrically in the sagittal plane with ``pelvis pitch + hip pitch + knee + ankle pitch = 0``, so the
feet stay flat; the pelvis position is solved by forward kinematics so that both feet stay where they are and the
lowest foot point touches the ground (z = 0) in every frame.

Run: ``python -m adaptive_sampling_motions.demo --out integrations/isaaclab/data/motions``.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import tempfile
from collections.abc import Callable

import numpy as np

from .assets import g1_mjcf
from .convert import convert_csv
from .csv_format import write_csv
from .kinematics import RobotKinematics
from .motion_file import save_motion
from .quaternions import quat_from_axis_angle, quat_mul
from .validation import validate_motion

__all__ = ["DEMO_CLIPS", "DemoClip", "clip_trajectory", "write_demo_motions"]

FEET = ("left_ankle_roll_link", "right_ankle_roll_link")
"""The G1's foot bodies (they carry the foot collision capsules)."""

STAND = {"hip_pitch": -0.312, "knee": 0.669}
"""Knees-bent standing posture (mjlab's G1 keyframe); the ankle follows from the flat-foot rule."""


@dataclasses.dataclass(frozen=True)
class Posture:
    """Joint targets over time for a clip; every entry has shape (T,)."""

    pelvis_pitch: np.ndarray
    """Forward lean of the pelvis, rad (positive leans forward)."""
    hip_pitch: np.ndarray
    """Both legs; negative flexes the hip (thigh forward)."""
    knee: np.ndarray
    """Both legs; positive bends the knee."""
    joints: dict[str, np.ndarray]
    """Any other joint by its MJCF name (arms, waist); unnamed joints stay at 0."""


@dataclasses.dataclass(frozen=True)
class DemoClip:
    """One demo clip."""

    name: str
    fps: float
    duration_s: float
    """``num_frames = round(duration_s * fps)``."""
    heading: float
    """Constant yaw of the robot, rad."""
    posture: Callable[[np.ndarray], Posture]
    """Posture as a function of the frame times in seconds."""
    description: str


def _bump(t: np.ndarray, start: float, width: float) -> np.ndarray:
    """Raised cosine: 0 outside ``[start, start + width]``, rising smoothly to 1 at the middle."""
    phase = np.clip((t - start) / width, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(2.0 * np.pi * phase))


def _wave(t: np.ndarray) -> Posture:
    zeros = np.zeros_like(t)
    return Posture(
        pelvis_pitch=zeros + 0.05,
        hip_pitch=STAND["hip_pitch"] + 0.05 * np.sin(2 * np.pi * 0.5 * t) - 0.05,
        knee=STAND["knee"] + 0.1 * (1 - np.cos(2 * np.pi * 0.5 * t)) / 2,
        joints={
            "waist_yaw_joint": 0.15 * np.sin(2 * np.pi * 0.25 * t),
            "right_shoulder_pitch_joint": -1.2 + 0.2 * np.sin(2 * np.pi * 0.5 * t),
            "right_shoulder_roll_joint": -0.5 - 0.25 * np.sin(2 * np.pi * 1.0 * t),
            "right_elbow_joint": 0.9 + 0.45 * np.sin(2 * np.pi * 1.5 * t),
            "right_wrist_roll_joint": 0.3 * np.sin(2 * np.pi * 1.5 * t),
            "left_shoulder_pitch_joint": 0.25 + 0.15 * np.sin(2 * np.pi * 0.5 * t + 1.0),
            "left_shoulder_roll_joint": zeros + 0.2,
            "left_elbow_joint": zeros + 0.6,
        },
    )


def _slow_squat(t: np.ndarray) -> Posture:
    depth = 0.5 * (1.0 - np.cos(2.0 * np.pi * t / 3.0))  # two squats in 6 s
    return Posture(
        pelvis_pitch=0.15 * depth,
        hip_pitch=STAND["hip_pitch"] - 0.75 * depth,
        knee=STAND["knee"] + 0.85 * depth,
        joints={
            "waist_pitch_joint": 0.1 * depth,
            "left_shoulder_pitch_joint": 0.2 - 1.3 * depth,
            "right_shoulder_pitch_joint": 0.2 - 1.3 * depth,
            "left_shoulder_roll_joint": 0.2 - 0.1 * depth,
            "right_shoulder_roll_joint": -0.2 + 0.1 * depth,
            "left_elbow_joint": 0.6 - 0.5 * depth,
            "right_elbow_joint": 0.6 - 0.5 * depth,
        },
    )


QUICK_SQUAT_START_S = 1.2
"""Start of the hard segment of ``quick_squat``."""
QUICK_SQUAT_WIDTH_S = 0.5
"""Length of the hard segment of ``quick_squat``."""


def _quick_squat(t: np.ndarray) -> Posture:
    sway = 0.5 * (1.0 - np.cos(2.0 * np.pi * 0.5 * t))
    depth = _bump(t, QUICK_SQUAT_START_S, QUICK_SQUAT_WIDTH_S)
    return Posture(
        pelvis_pitch=0.2 * depth,
        hip_pitch=STAND["hip_pitch"] - 0.9 * depth - 0.05 * sway,
        knee=STAND["knee"] + 1.05 * depth + 0.05 * sway,
        joints={
            "waist_pitch_joint": 0.2 * depth,
            "waist_yaw_joint": 0.1 * np.sin(2 * np.pi * 0.5 * t),
            "left_shoulder_pitch_joint": 0.2 - 1.7 * depth + 0.1 * sway,
            "right_shoulder_pitch_joint": 0.2 - 1.7 * depth - 0.1 * sway,
            "left_shoulder_roll_joint": 0.2 + 0.3 * depth,
            "right_shoulder_roll_joint": -0.2 - 0.3 * depth,
            "left_elbow_joint": 0.6 - 0.4 * depth,
            "right_elbow_joint": 0.6 - 0.4 * depth,
        },
    )


def _torso_twist(t: np.ndarray) -> Posture:
    twist = np.sin(2.0 * np.pi * 0.4 * t)
    bob = 0.5 * (1.0 - np.cos(2.0 * np.pi * 0.8 * t))
    zeros = np.zeros_like(t)
    return Posture(
        pelvis_pitch=0.1 * bob,
        hip_pitch=STAND["hip_pitch"] - 0.2 * bob,
        knee=STAND["knee"] + 0.25 * bob,
        joints={
            "waist_yaw_joint": 0.7 * twist,
            "waist_roll_joint": 0.1 * twist,
            "left_shoulder_roll_joint": zeros + 1.1,
            "right_shoulder_roll_joint": zeros - 1.1,
            "left_shoulder_pitch_joint": 0.3 * twist,
            "right_shoulder_pitch_joint": -0.3 * twist,
            "left_elbow_joint": 0.3 + 0.3 * bob,
            "right_elbow_joint": 0.3 + 0.3 * bob,
        },
    )


DEMO_CLIPS: tuple[DemoClip, ...] = (
    DemoClip("arm_wave", fps=50.0, duration_s=4.0, heading=0.0, posture=_wave,
             description="standing, right arm waving, slight knee bob"),
    DemoClip("slow_squat", fps=30.0, duration_s=6.0, heading=0.5, posture=_slow_squat,
             description="two slow squats with arms reaching forward"),
    DemoClip("quick_squat", fps=50.0, duration_s=3.0, heading=-0.3, posture=_quick_squat,
             description=f"stand, then a deep squat-and-rise with an arm swing in {QUICK_SQUAT_WIDTH_S} s "
                         f"from t={QUICK_SQUAT_START_S} s (the hard segment)"),
    DemoClip("torso_twist", fps=60.0, duration_s=5.0, heading=1.2, posture=_torso_twist,
             description="arms out, torso twisting, knees bobbing"),
)
"""The demo library."""


def clip_trajectory(clip: DemoClip, kinematics: RobotKinematics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base pose and joint positions of a clip with the feet planted on the ground.

    Returns:
        ``(root_pos, root_quat, joint_pos)``; ``root_quat`` wxyz. Shapes: (T, 3), (T, 4), (T, J).
    """
    num_frames = int(round(clip.duration_s * clip.fps))
    t = np.arange(num_frames, dtype=np.float64) / clip.fps
    posture = clip.posture(t)
    index = {name: i for i, name in enumerate(kinematics.joint_names)}
    joint_pos = np.zeros((num_frames, kinematics.num_joints), dtype=np.float64)
    for name, values in posture.joints.items():
        joint_pos[:, index[name]] = values
    for side in ("left", "right"):
        joint_pos[:, index[f"{side}_hip_pitch_joint"]] = posture.hip_pitch
        joint_pos[:, index[f"{side}_knee_joint"]] = posture.knee
        joint_pos[:, index[f"{side}_ankle_pitch_joint"]] = -(posture.pelvis_pitch + posture.hip_pitch + posture.knee)

    yaw = quat_from_axis_angle(np.array([0.0, 0.0, clip.heading]))
    pitch = quat_from_axis_angle(np.stack([np.zeros_like(t), posture.pelvis_pitch, np.zeros_like(t)], axis=-1))
    root_quat = quat_mul(np.broadcast_to(yaw, pitch.shape), pitch)

    # Place the pelvis so the feet stay where they are in frame 0's layout, centred on the origin, on the ground.
    origin = np.zeros((num_frames, 3))
    body_pos, _ = kinematics.forward(origin, root_quat, joint_pos)
    feet = [kinematics.body_names.index(name) for name in FEET]
    feet_mid_xy = body_pos[:, feet, :2].mean(axis=1)
    lowest = kinematics.lowest_collision_z(origin, root_quat, joint_pos, bodies=FEET)
    root_pos = np.concatenate([-feet_mid_xy, -lowest[:, None]], axis=1)
    return root_pos, root_quat, joint_pos


def write_demo_motions(out_dir: str | pathlib.Path, csv_dir: str | pathlib.Path | None = None,
                       mjcf: str | pathlib.Path | None = None) -> list[pathlib.Path]:
    """Generate, convert, validate and write the demo clips.

    Args:
        out_dir: Where the ``<name>.npz`` files go.
        csv_dir: Keep the intermediate CSVs here (a temporary folder otherwise).
        mjcf: The robot; defaults to the G1 (downloaded on first use, see ``assets``).

    Returns:
        The npz paths written.

    Raises:
        RuntimeError: a generated clip fails validation (a bug in the clip definitions).
    """
    kinematics = RobotKinematics(g1_mjcf() if mjcf is None else mjcf)
    out_dir = pathlib.Path(out_dir)
    written = []
    with tempfile.TemporaryDirectory(prefix="demo-csv-") as tmp:
        csv_root = pathlib.Path(csv_dir) if csv_dir is not None else pathlib.Path(tmp)
        csv_root.mkdir(parents=True, exist_ok=True)
        for clip in DEMO_CLIPS:
            # The rate in the name lets `motions convert <csv dir>` convert these files without --fps.
            csv_path = csv_root / f"{clip.name}_{clip.fps:g}fps.csv"
            write_csv(csv_path, *clip_trajectory(clip, kinematics))
            motion = convert_csv(csv_path, kinematics, fps=clip.fps)
            report = validate_motion(motion, name=clip.name, kinematics=kinematics)
            if not report.ok:
                raise RuntimeError(f"demo clip {clip.name!r} fails validation:\n{report.format()}")
            written.append(save_motion(out_dir / f"{clip.name}.npz", motion))
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the demo motions."""
    parser = argparse.ArgumentParser(prog="python -m adaptive_sampling_motions.demo",
                                     description="Write the G1 demo motions (npz, validated).")
    parser.add_argument("--out", required=True, help="output directory for the npz files")
    parser.add_argument("--csv-out", help="also keep the generated CSVs (LAFAN1-G1 layout) in this directory")
    parser.add_argument("--mjcf", help="robot MJCF (default: the Unitree G1 from the mjlab wheel)")
    args = parser.parse_args(argv)
    try:
        paths = write_demo_motions(args.out, csv_dir=args.csv_out, mjcf=args.mjcf)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for clip, path in zip(DEMO_CLIPS, paths, strict=True):
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): {clip.name}, {clip.duration_s:g} s at "
              f"{clip.fps:g} fps - {clip.description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
