"""``adaptive-sampling motions ...``: convert, validate, inspect and reorder motion files.

The commands are thin: they parse arguments, find files and print; the work is done in the modules they call.
Exit codes: 0 success (and clean data), 1 defects found, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .kinematics import RobotKinematics
    from .validation import ValidationCfg

__all__ = ["build_parser", "main"]

_T = TypeVar("_T")

G1 = "g1"
"""``--mjcf g1`` (the default of ``convert``) means the Unitree G1 from the mjlab wheel (see ``assets``)."""


def _progress(items: Sequence[_T], desc: str) -> Iterator[_T]:
    """Iterate with a tqdm progress bar (on stderr) when there are several items and tqdm is installed."""
    if len(items) > 1:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            # disable=None: no bar when stderr is not a terminal (logs, CI).
            yield from tqdm(items, desc=desc, unit="file", file=sys.stderr, leave=False, disable=None)
            return
    yield from items


def _say(message: str) -> None:
    """Print without breaking an active progress bar."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(message)
    else:
        tqdm.write(message, file=sys.stdout)


def _kinematics(mjcf: str | None) -> RobotKinematics | None:
    """The robot for ``--mjcf`` (``g1`` = the G1 from the mjlab wheel), or ``None``."""
    if mjcf is None:
        return None
    from .kinematics import RobotKinematics

    if mjcf.lower() == G1:
        from .assets import g1_mjcf

        return RobotKinematics(g1_mjcf())
    return RobotKinematics(mjcf)


def _validation_cfg(args: argparse.Namespace) -> ValidationCfg:
    from .validation import ValidationCfg

    cfg = ValidationCfg(
        velocity_rtol=args.velocity_rtol,
        velocity_atol=args.velocity_atol,
        max_body_speed=args.max_body_speed,
        max_joint_speed=args.max_joint_speed,
        joint_limit_margin=args.joint_limit_margin,
    )
    cfg.check()
    return cfg


def _read_names(path: str | None) -> list[str] | None:
    """Names from a text file, one per line (blank lines and ``#`` comments skipped)."""
    if path is None:
        return None
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    names = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not names:
        raise ValueError(f"names file {path!r} holds no names")
    return names


def _outputs(inputs: Sequence[pathlib.Path], root: pathlib.Path | None, output: str | None,
             suffix: str) -> list[pathlib.Path]:
    """Output path for each input.

    One file goes to ``output`` (a file, or into a directory), next to the input by default; files of a directory go
    to the same relative paths under ``output`` (the input directory by default).
    """
    if root is None:
        if output is None:
            return [inputs[0].with_suffix(suffix)]
        out = pathlib.Path(output)
        return [out / inputs[0].with_suffix(suffix).name if out.is_dir() else out]
    out_dir = pathlib.Path(output) if output is not None else root
    return [out_dir / path.relative_to(root).with_suffix(suffix) for path in inputs]


# ---------------------------------------------------------------------------------------------------------- commands


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert_csv
    from .motion_file import find_motion_files, save_motion
    from .validation import validate_file

    inputs, root = find_motion_files(args.input, suffix=".csv")
    if root is not None and args.frame_range is not None:
        raise ValueError("--frame-range applies to a single CSV file, not a directory")
    if args.output is not None and root is None and not args.output.endswith(".npz") \
            and not pathlib.Path(args.output).is_dir():
        raise ValueError(f"--output for one CSV must be an .npz path or an existing directory, got {args.output!r}")
    outputs = _outputs(inputs, root, args.output, ".npz")
    kinematics = _kinematics(args.mjcf)
    cfg = _validation_cfg(args)
    csv_joint_names = _read_names(args.csv_joint_names)
    failed = 0
    for source, target in zip(_progress(inputs, "convert"), outputs, strict=True):
        try:
            motion = convert_csv(source, kinematics, fps=args.fps, output_fps=args.output_fps,
                                 frame_range=tuple(args.frame_range) if args.frame_range else None,
                                 csv_joint_names=csv_joint_names)
        except (ValueError, FileNotFoundError) as error:
            _say(f"FAIL {source}: {error}")
            failed += 1
            continue
        save_motion(target, motion)
        num_frames, fps = motion["joint_pos"].shape[0], float(motion["fps"][0])
        _say(f"wrote {target} ({num_frames} frames at {fps:g} fps, {kinematics.num_bodies} bodies)")
        if not args.no_validate:
            report = validate_file(target, kinematics=kinematics, cfg=cfg)
            if not report.ok:
                _say(report.format())
                failed += 1
    if len(inputs) > 1 or failed:
        print(f"converted {len(inputs) - failed} of {len(inputs)} file(s) cleanly")
    return 1 if failed else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .motion_file import find_motion_files, motion_name
    from .validation import validate_file

    files, root = find_motion_files(args.path)
    kinematics = _kinematics(args.mjcf)
    cfg = _validation_cfg(args)
    reports = []
    for path in _progress(files, "validate"):
        report = validate_file(path, kinematics=kinematics, cfg=cfg,
                               name=motion_name(path, root) + ".npz" if root is not None else str(path))
        reports.append(report)
        if not report.ok or not args.quiet:
            _say(report.format())
    bad = sum(not r.ok for r in reports)
    robot = f" against {kinematics.path.name}" if kinematics is not None else ""
    print(f"validated {len(reports)} file(s){robot}: {len(reports) - bad} clean, {bad} with defects")
    return 1 if bad else 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .clips import resolve_motion_files
    from .library import format_table, summarize_files

    files = resolve_motion_files(args.path)
    rows = summarize_files(_progress(files, "info"), args.bin_duration_s, bin_layout=args.bin_layout)
    if args.json:
        import dataclasses

        print(json.dumps({"bin_duration_s": args.bin_duration_s, "bin_layout": args.bin_layout,
                          "motions": [dataclasses.asdict(row) for row in rows]}, indent=2))
    else:
        print(format_table(rows, args.bin_duration_s))
    return 0


def _source_names(args: argparse.Namespace, kinematics) -> tuple[list[str], list[str]] | None:
    """Names for the joints and bodies of unnamed input files, from --source-order or --source-*-names files."""
    from .reorder import robot_names

    from_files = args.source_joint_names is not None or args.source_body_names is not None
    if from_files and args.source_order is not None:
        raise ValueError("give either --source-order or --source-joint-names/--source-body-names, not both")
    if from_files:
        if args.source_joint_names is None or args.source_body_names is None:
            raise ValueError("--source-joint-names and --source-body-names go together (an unnamed file needs both)")
        return _read_names(args.source_joint_names), _read_names(args.source_body_names)
    if args.source_order is not None:
        if kinematics is None:
            raise ValueError(f"--source-order {args.source_order} needs --mjcf (the robot whose order the file has)")
        return robot_names(kinematics, args.source_order)
    return None


def _cmd_reorder(args: argparse.Namespace) -> int:
    from .motion_file import find_motion_files, load_motion, save_motion
    from .reorder import attach_names, reorder_motion, robot_names

    files, root = find_motion_files(args.input)
    if root is not None and pathlib.Path(args.output).resolve() == root.resolve():
        raise ValueError("--output must differ from the input directory")
    outputs = _outputs(files, root, args.output, ".npz")
    kinematics = _kinematics(args.mjcf)
    source_names = _source_names(args, kinematics)
    target_joints = _read_names(args.joint_names)
    target_bodies = _read_names(args.body_names)
    if kinematics is not None and target_joints is None and target_bodies is None:
        target_joints, target_bodies = robot_names(kinematics, args.target_order)
    if target_joints is None and target_bodies is None and source_names is None:
        raise ValueError("nothing to do: give --mjcf, --joint-names/--body-names, or the source order of unnamed files")
    for source, target in zip(_progress(files, "reorder"), outputs, strict=True):
        motion = load_motion(source)
        has_names = "joint_names" in motion and "body_names" in motion
        if source_names is not None:
            if has_names:
                raise ValueError(f"{source}: the file has names already; drop the source order to map by name")
            try:
                motion = attach_names(motion, *source_names)
            except ValueError as error:
                raise ValueError(f"{source}: {error}") from error
        elif not has_names:
            raise ValueError(
                f"{source}: the file has no joint_names/body_names; say which order it is in with "
                "--source-order physx (BeyondMimic/Isaac Sim files) or --source-order mujoco, plus --mjcf, "
                "or list its names with --source-joint-names/--source-body-names"
            )
        try:
            motion = reorder_motion(motion, target_joints, target_bodies, allow_drop=args.allow_drop)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from error
        save_motion(target, motion)
        _say(f"wrote {target}")
    return 0


# ------------------------------------------------------------------------------------------------------------ parser


def _add_tolerances(parser: argparse.ArgumentParser) -> None:
    from .validation import ValidationCfg

    defaults = ValidationCfg()
    group = parser.add_argument_group("validation tolerances")
    group.add_argument("--velocity-rtol", type=float, default=defaults.velocity_rtol,
                       help="velocity check: RMS error allowed relative to the RMS velocity (default %(default)s)")
    group.add_argument("--velocity-atol", type=float, default=defaults.velocity_atol,
                       help="velocity check: absolute RMS error allowed (default %(default)s)")
    group.add_argument("--max-body-speed", type=float, default=defaults.max_body_speed,
                       help="teleport check: fastest body speed between frames, m/s (default %(default)s)")
    group.add_argument("--max-joint-speed", type=float, default=defaults.max_joint_speed,
                       help="teleport check: fastest joint speed between frames, rad/s (default %(default)s)")
    group.add_argument("--joint-limit-margin", type=float, default=defaults.joint_limit_margin,
                       help="joint positions may exceed the MJCF limits by this much (default %(default)s)")


def build_parser(prog: str = "adaptive-sampling motions") -> argparse.ArgumentParser:
    """The argument parser of the ``motions`` command group."""
    parser = argparse.ArgumentParser(prog=prog, description="Motion data tools: convert, validate, info, reorder.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{convert,validate,info,reorder}")

    convert = commands.add_parser(
        "convert", help="LAFAN1-G1-style CSV -> npz with body states from MuJoCo forward kinematics",
        description="Convert retargeted CSVs (base xyz, base quaternion xyzw, joint positions in the robot's order) "
                    "to npz motion files (BeyondMimic's fields, wxyz quaternions, plus joint_names and body_names). "
                    "The output is validated.")
    convert.add_argument("input", help="a CSV file or a directory of CSV files")
    convert.add_argument("-o", "--output", help="output .npz (one file) or directory (default: next to the input)")
    convert.add_argument("--mjcf", default=G1, help="robot MJCF file, or 'g1' for the Unitree G1 (default)")
    convert.add_argument("--fps", type=float, help="frame rate of the CSV (default: parsed from the file name)")
    convert.add_argument("--output-fps", type=float, help="resample to this frame rate")
    convert.add_argument("--frame-range", type=int, nargs=2, metavar=("FIRST", "LAST"),
                         help="keep CSV frames FIRST..LAST (1-based, inclusive)")
    convert.add_argument("--csv-joint-names", metavar="FILE",
                         help="names of the CSV's joint columns, one per line, if not in the robot's order")
    convert.add_argument("--no-validate", action="store_true", help="skip validating the written files")
    _add_tolerances(convert)
    convert.set_defaults(handler=_cmd_convert)

    validate = commands.add_parser("validate", help="check motion files; exit 1 if any has defects",
                                   description="Check fields, shapes, dtypes, NaN/inf, unit quaternions, fps, "
                                               "velocity consistency and teleports; with --mjcf also joint limits "
                                               "and body poses against forward kinematics.")
    validate.add_argument("path", help="an npz file or a directory of them")
    validate.add_argument("--mjcf", help="robot MJCF file, or 'g1', for the robot checks")
    validate.add_argument("-q", "--quiet", action="store_true", help="print only files with defects and the summary")
    _add_tolerances(validate)
    validate.set_defaults(handler=_cmd_validate)

    info = commands.add_parser("info", help="table of a motion library: frames, fps, duration, sampler bins")
    info.add_argument("path", nargs="+", help="npz files, directories (searched recursively) or globs, named as "
                                              "train.py --motions names them")
    info.add_argument("--bin-duration-s", type=float, default=1.0, help="sampler bin width in seconds (default 1)")
    info.add_argument("--bin-layout", choices=("duration", "beyondmimic"), default="duration",
                      help="how the sampler cuts bins (default duration)")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(handler=_cmd_info)

    reorder = commands.add_parser(
        "reorder", help="map joints/bodies to another order by name (or PhysX -> MuJoCo order for unnamed files)",
        description="Reorder the joints and bodies of motion files. Named files map by name to the order of "
                    "--joint-names/--body-names files or of --mjcf (--target-order). Unnamed files (BeyondMimic) "
                    "need their order: --source-order with --mjcf (physx = breadth-first as Isaac Sim writes, "
                    "mujoco = depth-first), or --source-joint-names/--source-body-names files.")
    reorder.add_argument("input", help="an npz file or a directory of them")
    reorder.add_argument("-o", "--output", required=True, help="output .npz (one file) or directory")
    reorder.add_argument("--mjcf", help="robot MJCF file, or 'g1'")
    reorder.add_argument("--source-order", choices=("physx", "mujoco"),
                         help="order of an unnamed file's joints and bodies (needs --mjcf)")
    reorder.add_argument("--source-joint-names", metavar="FILE",
                         help="joint order of unnamed input files, one name per line (instead of --source-order)")
    reorder.add_argument("--source-body-names", metavar="FILE",
                         help="body order of unnamed input files, one name per line (e.g. Isaac Lab's "
                              "robot.body_names)")
    reorder.add_argument("--target-order", choices=("mujoco", "physx"), default="mujoco",
                         help="order to write when the target comes from --mjcf (default mujoco)")
    reorder.add_argument("--joint-names", metavar="FILE", help="target joint order, one name per line")
    reorder.add_argument("--body-names", metavar="FILE", help="target body order, one name per line")
    reorder.add_argument("--allow-drop", action="store_true", help="drop joints/bodies the target does not list")
    reorder.set_defaults(handler=_cmd_reorder)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``adaptive-sampling motions`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

