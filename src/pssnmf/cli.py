"""The ``pssnmf`` command line: apply a trained model to your own tumours.

    pssnmf predict --model MODEL.npz --catalog SAMPLES.tsv --out DIR [--plots]
    pssnmf predict --model MODEL.npz --maf TUMOURS.maf [--fasta GRCh37.fa] --out DIR

Writes DIR/predictions.tsv (columns described in :mod:`pssnmf.predict`) and, with
``--plots``, one PNG per sample in DIR/plots.  Progress and errors go to stderr.

Exit status: 0 on success; 2 on bad input (a usage error, or a model or catalog that
cannot be used: the message names the file and what was expected), with nothing
written; 1 on an unexpected failure (a bug: the traceback is printed).
"""

from __future__ import annotations

import argparse
import logging
import sys

from pssnmf import __version__

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pssnmf", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pssnmf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "predict",
        help="DDRd / class probabilities and signature exposures for an SBS96 catalog",
        description=(
            "Apply a trained model (.npz written by the workflow or pssnmf.model.save_model) "
            "to an SBS96 catalog: SigProfiler layout (MutationType rows x samples) or samples "
            "as rows, tab or comma separated (the layout found is logged); or to a MAF "
            "with a CONTEXT column or a reference FASTA. Writes OUT/predictions.tsv: sample, "
            "predicted, max_probability, probability_<class>, exposure_<signature>, "
            "reconstruction_cosine, mutations, low_count."
        ),
    )
    p.add_argument("--model", required=True, help="trained model file (.npz)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--catalog", help="SBS96 count matrix (.tsv/.csv/.txt)")
    src.add_argument("--maf", help="MAF of single-base substitutions (needs --fasta unless it has a CONTEXT column)")
    p.add_argument("--fasta", help="reference FASTA for --maf (a .fai index is used, or written, beside it)")
    p.add_argument("--out", required=True, help="output folder (created); predictions.tsv is written there")
    p.add_argument("--plots", action="store_true",
                   help="also write one PNG per sample into OUT/plots (SBS96 profile, exposures, probabilities)")
    p.add_argument(
        "--min-mutations",
        type=int,
        default=None,
        metavar="N",
        help="samples with fewer than N substitutions are flagged low_count (default: 50)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only print errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "predict":
        return _predict(args)
    return EXIT_BAD_INPUT  # pragma: no cover - argparse enforces a command


def _predict(args) -> int:
    from pssnmf import predict

    min_mutations = predict.MIN_MUTATIONS if args.min_mutations is None else args.min_mutations
    try:
        if min_mutations < 0:
            raise ValueError(f"--min-mutations must be >= 0, got {min_mutations}")
        if args.fasta and not args.maf:
            raise ValueError("--fasta is used only with --maf")
        if args.maf:
            predict.predict_maf(args.model, args.maf, args.out, fasta=args.fasta,
                                min_mutations=min_mutations, plots=args.plots)
        else:
            predict.predict_catalog(args.model, args.catalog, args.out,
                                    min_mutations=min_mutations, plots=args.plots)
    except (ValueError, OSError) as err:
        # ValueError covers CatalogError, MafError and the model file's errors; OSError a file
        # that is missing, a folder, or unreadable.  All name the file.
        print(f"pssnmf predict: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
