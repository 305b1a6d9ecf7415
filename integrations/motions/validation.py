"""Checks on motion files: structure, values, physical consistency, and fit to a robot.

Each check is a small function that appends :class:`Defect` entries; :func:`validate_motion` runs them in order and
skips the ones whose inputs an earlier check found broken (no velocity check on an array full of NaN).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Mapping

import numpy as np

from .derivatives import angular_velocity, linear_velocity
from .kinematics import RobotKinematics
from .motion_file import FLOAT_FIELDS, NAME_FIELDS, REQUIRED_FIELDS, decode_names, read_npz
from .quaternions import axis_angle_from_quat, quat_conjugate, quat_mul

__all__ = ["Defect", "ValidationCfg", "ValidationReport", "validate_file", "validate_motion"]


@dataclasses.dataclass(kw_only=True)
class ValidationCfg:
    """Tolerances of the checks."""

    quat_norm_tol: float = 1e-3
    """Largest accepted deviation of a quaternion's norm from 1."""
    velocity_rtol: float = 0.1
    """Velocity check: accepted RMS error relative to the RMS of the finite-difference velocity."""
    velocity_atol: float = 0.05
    """Velocity check: accepted RMS error in absolute terms (m/s or rad/s), added to the relative part."""
    max_body_speed: float = 15.0
    """Teleport check: fastest plausible body speed between two frames, m/s."""
    max_body_angular_speed: float = 60.0
    """Teleport check: fastest plausible body rotation between two frames, rad/s."""
    max_joint_speed: float = 60.0
    """Teleport check: fastest plausible joint speed between two frames, rad/s (or m/s for slide joints)."""
    joint_limit_margin: float = 0.02
    """Joint positions may exceed the robot's limits by this much (rad or m)."""
    kinematics_tol: float = 0.02
    """Robot check: largest accepted distance between stored body positions and forward kinematics, m."""

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field that is not a positive finite number (margin may be 0)."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            minimum_ok = value >= 0.0 if field.name == "joint_limit_margin" else value > 0.0
            if not isinstance(value, (int, float)) or not np.isfinite(value) or not minimum_ok:
                raise ValueError(f"ValidationCfg.{field.name} must be a positive finite number, got {value!r}")


@dataclasses.dataclass
class Defect:
    """One problem found in a motion."""

    check: str
    """Which check found it: fields, fps, dtype, shape, names, finite, quaternion, velocity, teleport, joint_limits,
    robot."""
    message: str
    """What is wrong, naming the field and where."""


@dataclasses.dataclass
class ValidationReport:
    """The outcome of validating one motion."""

    name: str
    """The file (or motion) checked."""
    defects: list[Defect]
    """Problems; a motion is clean when there are none."""
    warnings: list[str]
    """Remarks that are not defects (e.g. no names stored)."""
    num_frames: int | None = None
    fps: float | None = None
    num_joints: int | None = None
    num_bodies: int | None = None

    @property
    def ok(self) -> bool:
        """True when no defect was found."""
        return not self.defects

    def format(self) -> str:
        """A human-readable report: one status line, then one line per defect and warning."""
        facts = []
        if self.num_frames is not None:
            facts.append(f"T={self.num_frames}")
        if self.fps is not None:
            facts.append(f"fps={self.fps:g}")
        if self.num_joints is not None:
            facts.append(f"J={self.num_joints}")
        if self.num_bodies is not None:
            facts.append(f"Nb={self.num_bodies}")
        head = f"{'OK  ' if self.ok else 'FAIL'} {self.name}" + (f" ({', '.join(facts)})" if facts else "")
        lines = [head]
        lines += [f"  [{defect.check}] {defect.message}" for defect in self.defects]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def _frames(mask: np.ndarray, limit: int = 5) -> str:
    """The first few frame indices where ``mask`` (over axis 0, any other axes reduced) holds."""
    hits = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    listed = ", ".join(str(int(t)) for t in hits[:limit])
    more = f" and {hits.size - limit} more" if hits.size > limit else ""
    return f"frame{'s' if hits.size > 1 else ''} {listed}{more}"


def _check_fields(motion: Mapping[str, np.ndarray], defects: list[Defect]) -> None:
    missing = [key for key in REQUIRED_FIELDS if key not in motion]
    if missing:
        defects.append(Defect("fields", f"missing required field(s): {', '.join(missing)}"))


def _check_fps(motion: Mapping[str, np.ndarray], defects: list[Defect]) -> float | None:
    if "fps" not in motion:
        return None
    fps = np.asarray(motion["fps"])
    if fps.shape not in ((), (1,)):
        defects.append(Defect("fps", f"fps must have shape (1,), got {fps.shape}"))
        return None
    if fps.dtype.kind not in "iuf":
        defects.append(Defect("fps", f"fps must be a number, got dtype {fps.dtype}"))
        return None
    value = float(fps.reshape(-1)[0])
    if not np.isfinite(value) or value <= 0.0:
        defects.append(Defect("fps", f"fps must be positive and finite, got {value:g}"))
        return None
    return value


def _check_dtypes(motion: Mapping[str, np.ndarray], defects: list[Defect]) -> set[str]:
    """Returns the float fields with a usable dtype."""
    usable = set()
    for key in FLOAT_FIELDS:
        if key not in motion:
            continue
        dtype = np.asarray(motion[key]).dtype
        if dtype not in (np.float32, np.float64):
            defects.append(Defect("dtype", f"{key} must be float32 or float64, got {dtype}"))
        else:
            usable.add(key)
    for key in NAME_FIELDS:
        if key in motion and np.asarray(motion[key]).dtype.kind not in "US":
            dtype = np.asarray(motion[key]).dtype
            defects.append(Defect("dtype", f"{key} must be a string array (unicode), got {dtype}"))
    return usable


def _check_shapes(
    motion: Mapping[str, np.ndarray], usable: set[str], defects: list[Defect]
) -> tuple[int | None, int | None, int | None, set[str]]:
    """Checks ranks, trailing sizes and that T, J and Nb agree across fields. Returns T, J, Nb and the good fields."""
    expected_tail = {"joint_pos": (), "joint_vel": (), "body_pos_w": (3,), "body_quat_w": (4,),
                     "body_lin_vel_w": (3,), "body_ang_vel_w": (3,)}
    good = set()
    for key in FLOAT_FIELDS:
        if key not in motion:
            continue
        shape = np.shape(motion[key])
        tail = expected_tail[key]
        ndim = 2 if key.startswith("joint") else 3
        if len(shape) != ndim or shape[2:] != tail:
            want = "(T, J)" if ndim == 2 else f"(T, Nb, {tail[0]})"
            defects.append(Defect("shape", f"{key} must have shape {want}, got {shape}"))
        elif key in usable:
            good.add(key)
    sizes: dict[str, dict[str, int]] = {"T": {}, "J": {}, "Nb": {}}
    for key in good:
        shape = np.shape(motion[key])
        sizes["T"][key] = shape[0]
        sizes["J" if key.startswith("joint") else "Nb"][key] = shape[1]
    agreed: dict[str, int | None] = {}
    for symbol, by_field in sizes.items():
        values = set(by_field.values())
        if len(values) > 1:
            listing = ", ".join(f"{key} {value}" for key, value in sorted(by_field.items()))
            defects.append(Defect("shape", f"fields disagree on {symbol}: {listing}"))
            agreed[symbol] = None
            good -= set(by_field)
        else:
            agreed[symbol] = values.pop() if values else None
    num_frames = agreed["T"]
    if num_frames is not None and num_frames < 2:
        defects.append(Defect("shape", f"a motion needs at least 2 frames, got T={num_frames}"))
        good = set()
    if agreed["Nb"] == 0 or agreed["J"] == 0:
        defects.append(Defect("shape", f"no bodies or no joints (J={agreed['J']}, Nb={agreed['Nb']})"))
    return num_frames, agreed["J"], agreed["Nb"], good


def _check_names(
    motion: Mapping[str, np.ndarray], num_joints: int | None, num_bodies: int | None,
    defects: list[Defect], warnings: list[str],
) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    absent = [key for key in NAME_FIELDS if key not in motion]
    if absent:
        warnings.append(
            f"no {' or '.join(absent)}: readers must assume the robot's order "
            "(BeyondMimic files: PhysX breadth-first); "
            "add names with `adaptive-sampling motions reorder`"
        )
    for key, count in (("joint_names", num_joints), ("body_names", num_bodies)):
        if key not in motion:
            continue
        array = np.asarray(motion[key])
        if array.dtype.kind not in "US" or array.ndim != 1:
            if array.ndim != 1:
                defects.append(Defect("names", f"{key} must be 1-D, got shape {array.shape}"))
            continue
        values = decode_names(array)
        if count is not None and len(values) != count:
            defects.append(Defect("names", f"{key} has {len(values)} entries but the arrays have {count}"))
            continue
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            defects.append(Defect("names", f"{key} repeats {repeated}"))
            continue
        if any(not v for v in values):
            defects.append(Defect("names", f"{key} holds an empty name"))
            continue
        names[key] = values
    return names


def _check_finite(motion: Mapping[str, np.ndarray], good: set[str], defects: list[Defect]) -> set[str]:
    finite = set()
    for key in FLOAT_FIELDS:
        if key not in good:
            continue
        bad = ~np.isfinite(motion[key])
        if bad.any():
            kinds = [kind for kind, hit in (("NaN", np.isnan(motion[key]).any()), ("inf", np.isinf(motion[key]).any()))
                     if hit]
            defects.append(
                Defect("finite", f"{key} holds {' and '.join(kinds)} ({int(bad.sum())} values) at {_frames(bad)}")
            )
        else:
            finite.add(key)
    return finite


def _check_quaternions(motion: Mapping[str, np.ndarray], finite: set[str], cfg: ValidationCfg,
                       defects: list[Defect]) -> bool:
    if "body_quat_w" not in finite:
        return False
    norms = np.linalg.norm(np.asarray(motion["body_quat_w"], dtype=np.float64), axis=-1)
    bad = np.abs(norms - 1.0) > cfg.quat_norm_tol
    if bad.any():
        defects.append(Defect(
            "quaternion",
            f"body_quat_w is not unit norm at {_frames(bad)} (norms {norms.min():.4g} to {norms.max():.4g}, "
            f"tolerance {cfg.quat_norm_tol:g})",
        ))
        return False
    return True


def _check_velocities(motion: Mapping[str, np.ndarray], finite: set[str], quats_ok: bool, fps: float,
                      cfg: ValidationCfg, defects: list[Defect]) -> None:
    """Stored velocities against finite differences of the stored positions.

    The end frames are excluded: tools differ there (one-sided differences, copies of the neighbour).
    """
    dt = 1.0 / fps
    pairs = [("joint_vel", "joint_pos", linear_velocity), ("body_lin_vel_w", "body_pos_w", linear_velocity)]
    if quats_ok:
        pairs.append(("body_ang_vel_w", "body_quat_w", angular_velocity))
    for vel_key, pos_key, derivative in pairs:
        if vel_key not in finite or pos_key not in finite:
            continue
        stored = np.asarray(motion[vel_key], dtype=np.float64)
        if stored.shape[0] < 3:
            continue
        expected = derivative(np.asarray(motion[pos_key], dtype=np.float64), dt)
        error = stored[1:-1] - expected[1:-1]
        rms_error = float(np.sqrt(np.mean(error**2)))
        rms_expected = float(np.sqrt(np.mean(expected[1:-1] ** 2)))
        tolerance = cfg.velocity_atol + cfg.velocity_rtol * rms_expected
        if rms_error > tolerance:
            worst = np.unravel_index(int(np.argmax(np.abs(error))), error.shape)
            defects.append(Defect(
                "velocity",
                f"{vel_key} disagrees with finite differences of {pos_key} at fps={fps:g}: RMS error {rms_error:.4g} "
                f"vs RMS of the differences {rms_expected:.4g} (tolerance {tolerance:.4g}); worst at frame "
                f"{int(worst[0]) + 1}",
            ))


def _check_teleports(motion: Mapping[str, np.ndarray], finite: set[str], quats_ok: bool, fps: float,
                     cfg: ValidationCfg, defects: list[Defect]) -> None:
    """Jumps between consecutive frames faster than anything a body or joint can move."""
    speeds = []  # (field, speed between consecutive frames, limit, unit)
    if "body_pos_w" in finite:
        step = np.linalg.norm(np.diff(np.asarray(motion["body_pos_w"], dtype=np.float64), axis=0), axis=-1) * fps
        speeds.append(("body_pos_w", step, cfg.max_body_speed, "m/s"))
    if quats_ok:
        quats = np.asarray(motion["body_quat_w"], dtype=np.float64)
        angle = np.linalg.norm(axis_angle_from_quat(quat_mul(quats[1:], quat_conjugate(quats[:-1]))), axis=-1) * fps
        speeds.append(("body_quat_w", angle, cfg.max_body_angular_speed, "rad/s"))
    if "joint_pos" in finite:
        step = np.abs(np.diff(np.asarray(motion["joint_pos"], dtype=np.float64), axis=0)) * fps
        speeds.append(("joint_pos", step, cfg.max_joint_speed, "rad/s"))
    for key, speed, limit, unit in speeds:
        bad = speed > limit
        if bad.any():
            defects.append(Defect(
                "teleport",
                f"{key} jumps between {_frames(bad)} and the next (up to {speed.max():.3g} {unit}, limit {limit:g} "
                f"{unit})",
            ))


def _robot_index(names: list[str] | None, robot_names: list[str], count: int | None, kind: str,
                 defects: list[Defect]) -> np.ndarray | None:
    """Index of each robot joint/body in the file, by name if the file has names, else by position."""
    if names is None:
        if count != len(robot_names):
            defects.append(Defect(
                "robot",
                f"the file has {count} {kind}s and no {kind}_names; the robot has {len(robot_names)}",
            ))
            return None
        return np.arange(len(robot_names))
    unknown = [name for name in names if name not in robot_names]
    if unknown:
        defects.append(Defect("robot", f"{kind}_names not in the robot: {unknown[:8]}"))
        return None
    missing = [name for name in robot_names if name not in names]
    if missing:
        defects.append(Defect("robot", f"the file lacks {kind}s of the robot: {missing[:8]}"))
        return None
    return np.asarray([names.index(name) for name in robot_names], dtype=np.int64)


def _check_robot(motion: Mapping[str, np.ndarray], names: dict[str, list[str]], num_joints: int | None,
                 num_bodies: int | None, finite: set[str], quats_ok: bool, kinematics: RobotKinematics,
                 cfg: ValidationCfg, defects: list[Defect]) -> None:
    """Joint limits, and body poses against forward kinematics (catches a wrong body or joint order)."""
    joint_index = _robot_index(names.get("joint_names"), kinematics.joint_names, num_joints, "joint", defects)
    body_index = _robot_index(names.get("body_names"), kinematics.body_names, num_bodies, "body", defects)
    if joint_index is None or "joint_pos" not in finite:
        return
    joint_pos = np.asarray(motion["joint_pos"], dtype=np.float64)[:, joint_index]
    limits = kinematics.joint_limits
    below = joint_pos < limits[:, 0] - cfg.joint_limit_margin
    above = joint_pos > limits[:, 1] + cfg.joint_limit_margin
    for j in np.flatnonzero((below | above).any(axis=0)):
        excess = max(float(np.max(limits[j, 0] - joint_pos[:, j])), float(np.max(joint_pos[:, j] - limits[j, 1])))
        defects.append(Defect(
            "joint_limits",
            f"{kinematics.joint_names[j]} leaves its range [{limits[j, 0]:.4g}, {limits[j, 1]:.4g}] by up to "
            f"{excess:.4g} at {_frames(below[:, j] | above[:, j])} (margin {cfg.joint_limit_margin:g})",
        ))
    if body_index is None or not quats_ok or "body_pos_w" not in finite:
        return
    root = body_index[0]
    body_pos = np.asarray(motion["body_pos_w"], dtype=np.float64)
    body_quat = np.asarray(motion["body_quat_w"], dtype=np.float64)
    fk_pos, _ = kinematics.forward(body_pos[:, root], body_quat[:, root], joint_pos)
    distance = np.linalg.norm(body_pos[:, body_index] - fk_pos, axis=-1)
    if distance.max() > cfg.kinematics_tol:
        worst_body = kinematics.body_names[int(np.argmax(distance.max(axis=0)))]
        defects.append(Defect(
            "robot",
            f"body_pos_w does not match forward kinematics of {kinematics.path.name} from the root pose and joint_pos: "
            f"up to {distance.max():.3g} m off (worst body {worst_body!r}, tolerance {cfg.kinematics_tol:g} m). "
            "Wrong body or joint order (PhysX breadth-first vs MuJoCo depth-first)? See `motions reorder`.",
        ))


def validate_motion(
    motion: Mapping[str, np.ndarray],
    name: str = "<motion>",
    kinematics: RobotKinematics | None = None,
    cfg: ValidationCfg | None = None,
    unreadable: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Run every check on a motion's fields.

    Args:
        motion: Field name -> array.
        name: What to call the motion in the report.
        kinematics: If given, also check joint limits and body poses against this robot's forward kinematics.
        cfg: Tolerances; defaults to :class:`ValidationCfg()`.
        unreadable: Fields that could not be read from the file, with the reason.

    Returns:
        The report; ``report.ok`` is True when nothing is wrong.
    """
    cfg = ValidationCfg() if cfg is None else cfg
    cfg.check()
    defects: list[Defect] = []
    warnings: list[str] = []
    for key, reason in (unreadable or {}).items():
        defects.append(Defect("dtype", f"{key} cannot be read without pickle (object array?): {reason}"))
    motion = {key: value for key, value in motion.items() if key not in (unreadable or {})}
    _check_fields(motion, defects)
    fps = _check_fps(motion, defects)
    usable = _check_dtypes(motion, defects)
    num_frames, num_joints, num_bodies, good = _check_shapes(motion, usable, defects)
    names = _check_names(motion, num_joints, num_bodies, defects, warnings)
    finite = _check_finite(motion, good, defects)
    quats_ok = _check_quaternions(motion, finite, cfg, defects)
    if fps is not None:
        _check_velocities(motion, finite, quats_ok, fps, cfg, defects)
        _check_teleports(motion, finite, quats_ok, fps, cfg, defects)
    if kinematics is not None and num_frames is not None and num_frames >= 2:
        _check_robot(motion, names, num_joints, num_bodies, finite, quats_ok, kinematics, cfg, defects)
    return ValidationReport(name=name, defects=defects, warnings=warnings, num_frames=num_frames, fps=fps,
                            num_joints=num_joints, num_bodies=num_bodies)


def validate_file(
    path: str | os.PathLike,
    kinematics: RobotKinematics | None = None,
    cfg: ValidationCfg | None = None,
    name: str | None = None,
) -> ValidationReport:
    """Read a motion file and run :func:`validate_motion` on it; an unreadable file is reported, not raised."""
    path = pathlib.Path(path)
    label = name if name is not None else str(path)
    try:
        motion, unreadable = read_npz(path)
    except (FileNotFoundError, ValueError) as error:
        return ValidationReport(name=label, defects=[Defect("fields", str(error))], warnings=[])
    return validate_motion(motion, name=label, kinematics=kinematics, cfg=cfg, unreadable=unreadable)

