"""The ``cryopick`` command line, on the same engine as the Scipion protocols.

    cryopick demo-data OUT             write the built-in synthetic demo dataset
    cryopick evaluate --picks P --truth T --radius R
                                       precision / recall / F1 / AP of picks against truth

Bad input ends with one line ``cryopick: error: <file>: <problem>`` and exit status 2.
"""
import argparse
import json
import sys

from .engine.errors import CryopickInputError


def _cmd_demo_data(args):
    from .engine.demo_data import make_demo_dataset

    manifest = make_demo_dataset(args.out, n_micrographs=args.n_micrographs,
                                 size=(args.height, args.width), seed=args.seed,
                                 label_fraction=args.label_fraction)
    print(f"Wrote {len(manifest['micrographs'])} micrographs with {manifest['n_true']} true "
          f"particles ({manifest['n_labelled']} labelled) to {args.out}")
    return 0


def _cmd_evaluate(args):
    from .engine.coordinates import read_coordinates
    from .engine.metrics import evaluate, format_table
    from .engine.plots import plot_precision_recall

    if (args.radius is None) == (args.diameter is None):
        raise CryopickInputError("give exactly one of --radius or --diameter (pixels)")
    radius = args.radius if args.radius is not None else args.diameter / 2.0
    truth = read_coordinates(args.truth, args.truth_format)
    picks = read_coordinates(args.picks, args.picks_format)
    unknown = sorted(set(picks) - set(truth))
    if unknown and not args.allow_extra:
        raise CryopickInputError(
            f"{args.picks}: picks for micrographs absent from the truth {unknown[:5]}; "
            "pass --allow-extra to ignore them")
    picks = {k: v for k, v in picks.items() if k in truth}
    result = evaluate(picks, truth, radius)
    print(format_table(result, title="cryopick evaluate"))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)
    if args.plot:
        plot_precision_recall(result, args.plot)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="cryopick", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write the synthetic demo dataset")
    p.add_argument("out", help="output folder")
    p.add_argument("--n-micrographs", type=int, default=6)
    p.add_argument("--height", type=int, default=768)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--label-fraction", type=float, default=0.3,
                   help="fraction of the particles of the labelled micrographs kept as labels")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("evaluate", help="particle-level precision / recall / F1 / AP")
    p.add_argument("--picks", required=True, help="picked coordinates (file or folder)")
    p.add_argument("--truth", required=True, help="true coordinates (file or folder)")
    p.add_argument("--radius", type=float, help="match radius in pixels")
    p.add_argument("--diameter", type=float,
                   help="particle diameter in pixels (radius = diameter / 2)")
    p.add_argument("--picks-format", default="auto")
    p.add_argument("--truth-format", default="auto")
    p.add_argument("--allow-extra", action="store_true",
                   help="ignore picks on micrographs that have no truth")
    p.add_argument("--out", help="write the full result as JSON")
    p.add_argument("--plot", help="write a precision-recall plot (PNG)")
    p.set_defaults(func=_cmd_evaluate)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CryopickInputError as exc:
        print(f"cryopick: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
