"""The ``pssnmf`` command line: apply a trained model to your own tumours.

    pssnmf predict --model MODEL.npz --catalog SAMPLES.tsv --out DIR [--plots]
    pssnmf predict --model MODEL.npz --maf TUMOURS.maf [--fasta GRCh37.fa] --out DIR
    pssnmf predict --model MODEL.npz --vcf T1.vcf.gz [T2.vcf ...] --fasta GRCh38.fa [--vcf-sample TUMOR] --out DIR

Writes DIR/predictions.tsv and DIR/contributions.tsv (columns described in
:mod:`pssnmf.predict`), with ``--per-mutation`` (MAF or VCF input) DIR/per_mutation.tsv, and,
with ``--plots``, one PNG per sample in DIR/plots.  Progress and errors go to stderr.

DIR must be new or empty; ``--overwrite`` lets the command replace its own outputs there
(predictions.tsv, contributions.tsv, per_mutation.tsv, this run's figures), never anything else.

Exit status: 0 on success; 2 on bad input (a usage error, or a model or catalog that
cannot be used: the message names the file and what was expected), with nothing
written; 128 + the signal's number when stopped by SIGTERM, SIGHUP or SIGINT, with
nothing written; 1 on an unexpected failure (a bug: the traceback is printed).  ``--debug``
prints the traceback on bad input too.  The policy is every command's: :mod:`pssnmf.commands`.
"""

from __future__ import annotations

import argparse
import signal
import sys

from pssnmf import __version__, commands
from pssnmf.commands import EXIT_BAD_INPUT


class _Stopped(BaseException):
    """A stop signal, raised where the program is so that half-written output is taken back."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _parser() -> argparse.ArgumentParser:
    stages = "\n".join(f"  {name:<12} {text} (pssnmf {name} --help)" for name, (_, text) in STAGES.items())
    parser = argparse.ArgumentParser(prog="pssnmf", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"the workflow's stages, as its rules run them:\n{stages}")
    parser.add_argument("--version", action="version", version=f"pssnmf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "predict",
        help="DDRd / class probabilities and signature exposures for an SBS96 catalog",
        description=(
            "Apply a trained model (.npz written by the workflow or pssnmf.model.save_model) "
            "to an SBS96 catalog: SigProfiler layout (MutationType rows x samples) or samples "
            "as rows, tab or comma separated (the layout found is logged); or to a MAF "
            "with a CONTEXT column or a reference FASTA; or to VCFs and the reference FASTA they were "
            "called on. Writes OUT/predictions.tsv: sample, "
            "predicted, max_probability, probability_<class>, exposure_<signature>, "
            "contribution_<signature>, reconstruction_cosine, mutations, low_count, ood (out of distribution: "
            "reconstruction cosine below the model's threshold, the 5th percentile of its training tumours), "
            "ood_reason, call (the class or 'undetermined'), undetermined_reason, agreement, "
            "interval_lower/upper/width, "
            "lower_<class>, upper_<class>; OUT/contributions.tsv: exposure x weight of every "
            "signature for every class; with --per-mutation, OUT/per_mutation.tsv: sample, chromosome, "
            "position, ref, alt, channel and each signature's probability of having made the mutation."
        ),
    )
    p.add_argument("--model", help="trained model file (.npz); default: the shipped DDRd model (pssnmf models)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--catalog", help="SBS96 count matrix (.tsv/.csv/.txt)")
    src.add_argument("--maf", help="MAF of single-base substitutions (needs --fasta unless it has a CONTEXT column)")
    src.add_argument("--vcf", nargs="+", metavar="FILE",
                     help="VCF(s), .vcf or .vcf.gz (bgzip or gzip), with --fasta: every sample column is a sample "
                          "(a variant counts where its GT carries the ALT), a sites-only VCF is one sample named by "
                          "the file; the same sample in several files is pooled")
    p.add_argument("--fasta", help="reference FASTA for --maf or --vcf, the build the calls were made on (GRCh37 or "
                                   "GRCh38; chr1 and 1 match either way); a .fai index is used, or written, beside it")
    p.add_argument("--vcf-sample", metavar="NAME",
                   help="with --vcf: count only this sample column (the tumour of a tumour/normal VCF); a line "
                        "without GT then counts too")
    p.add_argument("--all-filters", action="store_true",
                   help="with --vcf: count every line, whatever its FILTER (default: PASS or '.' only)")
    p.add_argument("--per-mutation", action="store_true",
                   help="with --maf or --vcf: also write OUT/per_mutation.tsv, one row per single-base substitution "
                        "with each signature's probability of having generated it (exposure x signature, "
                        "normalised over the signatures)")
    p.add_argument("--out", required=True,
                   help="output folder, new or empty (created); predictions.tsv and contributions.tsv are "
                        "written there")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a folder that is not empty: replace predictions.tsv, contributions.tsv, "
                        "per_mutation.tsv and the figures of this run's samples there; nothing else is touched")
    p.add_argument("--plots", action="store_true",
                   help="also write one PNG per sample into OUT/plots (SBS96 profile, exposures, contributions, "
                        "probabilities with intervals)")
    p.add_argument(
        "--min-mutations",
        type=int,
        default=None,
        metavar="N",
        help="samples with fewer than N substitutions are flagged low_count and called undetermined "
             "(default: 50)",
    )
    p.add_argument("--scale", choices=("genome", "exome"),
                   help="what the catalog's samples are: whole genomes or exomes. Needed for a model trained "
                        "at exome scale (experiment.opportunity: exome), whose genome/exome ratio then converts "
                        "genomes; a model trained without conversion (the default) ignores it")
    p.add_argument("--resamples", type=int, default=None, metavar="N",
                   help="multinomial resamples of each sample's own counts for its probability intervals "
                        "(default: 200; 0: no intervals, the call then follows --min-mutations alone)")
    p.add_argument("--level", type=float, default=None,
                   help="coverage of the percentile intervals (default: 0.9)")
    p.add_argument("--max-interval-width", type=float, default=None, metavar="W",
                   help="a sample whose predicted class's interval is wider than W is called undetermined "
                        "(default: 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="only print errors")
    sub.add_parser("models", help="list the models shipped with this installation and their provenance",
                   description="The shipped models (the workflow's released models of a full-scale run): what "
                               "each is, which commit and config made it, its scores in the protocol, its "
                               "screening cut-offs.")
    commands.add_options(parser)
    return parser


#: The workflow's stages, one command each: ``pssnmf <stage> ...`` is ``python -m pssnmf.<stage> ...``
#: (what the rules run), with the same options and error policy.
STAGES = {
    "data": ("pssnmf.data.__main__", "public sources -> SBS96 catalogs and labels of both tasks"),
    "experiment": ("pssnmf.experiment", "folds, fits, selection, the final test and Table 1"),
    "figures": ("pssnmf.figures", "Tables 2-4 and the figures from the workflow's files"),
    "opportunity": ("pssnmf.opportunity", "the genome/exome opportunity ratio from the COSMIC files"),
    "screening": ("pssnmf.screening", "per-pathway screening scores against proficient tumours, ROC curves"),
    "release": ("pssnmf.release", "the exported model's point retrained on all of a task's data, with provenance"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in STAGES:  # handed over whole: the stage parses its own options
        import importlib

        return importlib.import_module(STAGES[argv[0]][0]).main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "models":
        return commands.run("pssnmf models", _models, args, log_format="plain")
    if args.command == "predict":
        return commands.run("pssnmf predict", lambda a: _stoppable(_predict, a), args, log_format="plain")
    return EXIT_BAD_INPUT  # pragma: no cover - argparse enforces a command


def _stoppable(command, args) -> int:
    """``command(args)`` with SIGTERM, SIGHUP and SIGINT raised as :class:`_Stopped`.

    Python's default for SIGTERM ends the process at once, skipping the clean-up that
    takes back a half-written output (:func:`pssnmf.predict.write_prediction`).
    """

    def stop(signum, frame):
        raise _Stopped(signum)

    stops = [s for s in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, s)]
    previous = {name: signal.signal(getattr(signal, name), stop) for name in stops}
    try:
        return command(args)
    except _Stopped as stopped:
        print(f"pssnmf {args.command}: stopped by {signal.Signals(stopped.signum).name}; nothing was written",
              file=sys.stderr)
        return 128 + stopped.signum
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def _models(args) -> int:
    """``pssnmf models``: each shipped model and its provenance."""
    from pssnmf import predict, shipped

    models = shipped.shipped_models()
    if not models:
        print("this installation ships no model; run the workflow and use results/release/<task>.npz")
        return 0
    for task, path in models.items():
        print(f"{task}: {path}" + (" (the default of pssnmf predict)" if task == shipped.DEFAULT_TASK else ""))
        for line in shipped.describe(predict.read_model(path)):
            print(f"  {line}")
    return 0


def _predict(args) -> int:
    from pssnmf import predict, shipped

    if args.model is None:
        args.model = shipped.default_model()
        for line in ["no --model: using the shipped model " + str(args.model)] + shipped.describe(
                predict.read_model(args.model)):
            print(f"pssnmf predict: {line}", file=sys.stderr)

    min_mutations = predict.MIN_MUTATIONS if args.min_mutations is None else args.min_mutations
    if min_mutations < 0:
        raise ValueError(f"--min-mutations must be >= 0, got {min_mutations}")
    _check_input_options(args)
    options = {
        "scale": args.scale,
        "n_resamples": predict.N_RESAMPLES if args.resamples is None else args.resamples,
        "level": predict.LEVEL if args.level is None else args.level,
        "max_interval_width": (predict.MAX_INTERVAL_WIDTH if args.max_interval_width is None
                               else args.max_interval_width),
        "random_state": args.seed,
    }
    written = {"min_mutations": min_mutations, "plots": args.plots, "overwrite": args.overwrite}
    if args.vcf:
        predict.predict_vcf(args.model, args.vcf, args.out, fasta=args.fasta, sample=args.vcf_sample,
                            all_filters=args.all_filters, per_mutation=args.per_mutation, **written, **options)
    elif args.maf:
        predict.predict_maf(args.model, args.maf, args.out, fasta=args.fasta, per_mutation=args.per_mutation,
                            **written, **options)
    else:
        predict.predict_catalog(args.model, args.catalog, args.out, **written, **options)
    return 0


def _check_input_options(args) -> None:
    """The options that belong to one kind of input, refused with another (before anything is read)."""
    if args.fasta and not (args.maf or args.vcf):
        raise ValueError("--fasta is used only with --maf or --vcf")
    if args.vcf and not args.fasta:
        raise ValueError("--vcf needs --fasta: the reference genome the VCF was called on (GRCh37 or GRCh38), "
                         "for the bases around each substitution")
    for given, option in ((args.vcf_sample is not None, "--vcf-sample"), (args.all_filters, "--all-filters")):
        if given and not args.vcf:
            raise ValueError(f"{option} is used only with --vcf")
    if args.per_mutation and not (args.maf or args.vcf):
        raise ValueError("--per-mutation needs the mutations themselves: --maf or --vcf (a --catalog holds only "
                         "counts)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
