"""``python -m pssnmf.data <command>``: the data layer's steps, one per workflow rule.

Each command reads its inputs, calls one library function and writes its outputs
atomically.  Bad input exits with status 2 and a one-line message naming the file
and what was expected.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import shutil
import sys
from pathlib import Path

import pandas as pd

from pssnmf import commands
from pssnmf.catalog import read_catalog, write_catalog
from pssnmf.data.atomic import atomic_path, write_table
from pssnmf.data.fasta import write_fai
from pssnmf.data.sources import SourceError

log = logging.getLogger("pssnmf.data")


def _optional_int(text: str) -> int | None:
    return None if text.lower() in ("none", "null", "") else int(text)


def _write_pair(counts: pd.DataFrame, samples: pd.DataFrame, args: argparse.Namespace) -> None:
    write_catalog(counts, args.out_catalog)
    write_table(samples, args.out_samples)


def _read_pair(catalog: str, samples: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from pssnmf.data.tasks import read_samples_table

    counts = read_catalog(catalog)
    return counts, read_samples_table(samples, counts)


def cmd_fetch(args: argparse.Namespace) -> None:
    from pssnmf.data.sources import fetch, load_manifest

    sources = load_manifest(args.manifest)
    if args.source not in sources:
        raise SourceError(f"{args.manifest}: no source {args.source!r}")
    fetch(sources[args.source], args.out, mirror=args.mirror or None, first_seen_dir=args.first_seen_dir, retries=args.retries)


def cmd_unpack_reference(args: argparse.Namespace) -> None:
    # A gzip FASTA cannot be seeked into; decompress once, then index (pssnmf.data.fasta).
    with atomic_path(args.out) as tmp:
        opener = gzip.open if str(args.input).endswith(".gz") else open
        with opener(args.input, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    write_fai(args.out, args.fai)


def cmd_zou(args: argparse.Namespace) -> None:
    from pssnmf.data.zou import read_zou

    counts, samples = read_zou(args.tables, json.loads(args.classes))
    _write_pair(counts, samples, args)


def cmd_tcga_catalog(args: argparse.Namespace) -> None:
    from pssnmf.data.tcga import read_published_catalog

    counts, samples = read_published_catalog(args.catalog, args.samples)
    log.info("TCGA tumours per cohort: %s", samples["cancer_type"].value_counts().sort_index().to_dict())
    _write_pair(counts, samples, args)


def cmd_tcga_maf(args: argparse.Namespace) -> None:
    from pssnmf.data.tcga import catalog_from_mc3

    counts, samples, skipped = catalog_from_mc3(args.maf, args.clinical, sample_types=args.sample_types)
    log.info("MC3 rows skipped: %s", skipped)
    log.info("TCGA tumours per cohort: %s", samples["cancer_type"].value_counts().sort_index().to_dict())
    _write_pair(counts, samples, args)


def cmd_ddr_status(args: argparse.Namespace) -> None:
    from pssnmf.data.tasks import read_samples_table
    from pssnmf.data.tcga import ddr_status, read_volkova

    samples = read_samples_table(args.tcga_samples)
    status, unmatched = ddr_status(read_volkova(args.volkova), samples, tuple(args.pathways))
    write_table(status, args.out)
    write_table(unmatched, args.unmatched)


def cmd_gdsc(args: argparse.Namespace) -> None:
    from pssnmf.data.cell_lines import read_gdsc

    counts, samples = read_gdsc(args.csv)
    _write_pair(counts, samples, args)


def cmd_ccle(args: argparse.Namespace) -> None:
    from pssnmf.data.cell_lines import read_ccle

    counts, samples, skipped = read_ccle(args.mutations, args.sample_info, args.fasta, args.type_map)
    log.info("CCLE rows skipped: %s", skipped)
    log.info("CCLE cell lines per type: %s", samples["cancer_type"].value_counts().to_dict())
    _write_pair(counts, samples, args)


def cmd_select_cancer_types(args: argparse.Namespace) -> None:
    from pssnmf.data.selection import select_cancer_types

    cell_counts, cell_samples = _read_pair(args.cell_catalog, args.cell_samples)
    tumour_counts, tumour_samples = _read_pair(args.tcga_catalog, args.tcga_samples)
    result = select_cancer_types(
        cell_counts,
        cell_samples["cancer_type"],
        tumour_counts,
        tumour_samples["cancer_type"],
        min_cell_lines=args.min_cell_lines,
        min_tumours=args.min_tumours,
        n_clusters=args.n_clusters,
        fixed_types=args.types or None,
    )
    write_table(result.table, args.out_selection)
    write_table(result.tuples, args.out_tuples)
    for path, matrix in (
        (args.out_cosine_cell_lines, result.cosine_cell_lines),
        (args.out_cosine_tumours, result.cosine_tumours),
        (args.out_cosine_cross, result.cosine_cross),
    ):
        write_table(matrix.rename_axis("cancer_type"), path, index=True)
    with atomic_path(args.out_types) as tmp:
        tmp.write_text("\n".join(result.used) + "\n")


def cmd_ddrd_task(args: argparse.Namespace) -> None:
    from pssnmf.data.tasks import build_ddrd, read_samples_table

    zou_counts, zou_samples = _read_pair(args.zou_catalog, args.zou_samples)
    tumour_counts, tumour_samples = _read_pair(args.tcga_catalog, args.tcga_samples)
    status = read_samples_table(args.ddr_status, tumour_counts)
    counts, samples = build_ddrd(
        zou_counts,
        zou_samples,
        tumour_counts,
        tumour_samples,
        status,
        list(json.loads(args.classes)),
        subsample_tumours=_optional_int(args.subsample_tumours),
        seed=args.seed,
    )
    _write_pair(counts, samples, args)


def cmd_cancer_type_task(args: argparse.Namespace) -> None:
    from pssnmf.data.tasks import build_cancer_type

    cell_counts, cell_samples = _read_pair(args.cell_catalog, args.cell_samples)
    tumour_counts, tumour_samples = _read_pair(args.tcga_catalog, args.tcga_samples)
    types = [t for t in Path(args.types_file).read_text().split() if t]
    counts, samples = build_cancer_type(
        cell_counts,
        cell_samples,
        tumour_counts,
        tumour_samples,
        types,
        subsample_tumours=_optional_int(args.subsample_tumours),
        seed=args.seed,
    )
    _write_pair(counts, samples, args)


def cmd_cosmic(args: argparse.Namespace) -> None:
    signatures = read_catalog(args.input, integer=False)
    table = signatures.T
    table.index.name = "Type"
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, sep="\t", lineterminator="\n")


def _pair_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-catalog", required=True, help="SBS96 catalog (SigProfiler layout)")
    parser.add_argument("--out-samples", required=True, help="samples table (.tsv)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pssnmf.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download one source of resources/sources.yaml, checksummed")
    p.add_argument("--manifest", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mirror", default="", help="local folder or http(s) URL replacing every source's base")
    p.add_argument("--first-seen-dir", default=None)
    p.add_argument("--retries", type=int, default=3)
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("unpack-reference", help="decompress a FASTA and write its .fai index")
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fai", required=True)
    p.set_defaults(func=cmd_unpack_reference)

    p = sub.add_parser("zou", help="Zou 2021 subclones: catalog + samples table")
    p.add_argument("--tables", required=True)
    p.add_argument("--classes", required=True, help='JSON {"MMR": ["MSH6", ...], ...}')
    _pair_out(p)
    p.set_defaults(func=cmd_zou)

    p = sub.add_parser("tcga-catalog", help="TCGA tumours from a published SBS96 catalog")
    p.add_argument("--catalog", required=True)
    p.add_argument("--samples", required=True)
    _pair_out(p)
    p.set_defaults(func=cmd_tcga_catalog)

    p = sub.add_parser("tcga-maf", help="TCGA tumours from the MC3 MAF")
    p.add_argument("--maf", required=True)
    p.add_argument("--clinical", required=True)
    p.add_argument("--sample-types", nargs="+", default=["01"])
    _pair_out(p)
    p.set_defaults(func=cmd_tcga_maf)

    p = sub.add_parser("ddr-status", help="hom/het/wt per tumour and pathway from the Volkova table")
    p.add_argument("--volkova", required=True)
    p.add_argument("--tcga-samples", required=True)
    p.add_argument("--pathways", nargs="+", default=["MMR", "BER", "HR"])
    p.add_argument("--out", required=True)
    p.add_argument("--unmatched", required=True)
    p.set_defaults(func=cmd_ddr_status)

    p = sub.add_parser("gdsc", help="GDSC cell lines (Levatić et al.)")
    p.add_argument("--csv", required=True)
    _pair_out(p)
    p.set_defaults(func=cmd_gdsc)

    p = sub.add_parser("ccle", help="CCLE cell lines from DepMap mutation calls + GRCh37")
    p.add_argument("--mutations", required=True)
    p.add_argument("--sample-info", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--type-map", required=True)
    _pair_out(p)
    p.set_defaults(func=cmd_ccle)

    p = sub.add_parser("select-cancer-types", help="the paper's cancer-type selection (section 2.2.1)")
    p.add_argument("--cell-catalog", required=True)
    p.add_argument("--cell-samples", required=True)
    p.add_argument("--tcga-catalog", required=True)
    p.add_argument("--tcga-samples", required=True)
    p.add_argument("--min-cell-lines", type=int, default=15)
    p.add_argument("--min-tumours", type=int, default=400)
    p.add_argument("--n-clusters", type=int, default=4)
    p.add_argument("--types", nargs="*", default=[])
    for name in ("selection", "tuples", "cosine-cell-lines", "cosine-tumours", "cosine-cross", "types"):
        p.add_argument(f"--out-{name}", required=True)
    p.set_defaults(func=cmd_select_cancer_types)

    p = sub.add_parser("ddrd-task", help="DDRd task catalog + samples")
    p.add_argument("--zou-catalog", required=True)
    p.add_argument("--zou-samples", required=True)
    p.add_argument("--tcga-catalog", required=True)
    p.add_argument("--tcga-samples", required=True)
    p.add_argument("--ddr-status", required=True)
    p.add_argument("--classes", required=True)
    p.add_argument("--subsample-tumours", default="none")
    p.add_argument("--seed", type=int, default=0)
    _pair_out(p)
    p.set_defaults(func=cmd_ddrd_task)

    p = sub.add_parser("cancer-type-task", help="cancer-type task catalog + samples")
    p.add_argument("--cell-catalog", required=True)
    p.add_argument("--cell-samples", required=True)
    p.add_argument("--tcga-catalog", required=True)
    p.add_argument("--tcga-samples", required=True)
    p.add_argument("--types-file", required=True)
    p.add_argument("--subsample-tumours", default="none")
    p.add_argument("--seed", type=int, default=0)
    _pair_out(p)
    p.set_defaults(func=cmd_cancer_type_task)

    p = sub.add_parser("cosmic", help="COSMIC signature table in COSMIC channel order")
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_cosmic)
    commands.add_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return commands.run("python -m pssnmf.data", args.func, args)


if __name__ == "__main__":
    sys.exit(main())
