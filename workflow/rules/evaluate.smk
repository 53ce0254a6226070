# The final test (paper 2.2.5): each model's chosen point trained on the whole validation set
# (fold "test"), scored on the test set, over evaluation.replicates seeds; Table 1 with
# bootstrap intervals, the spread over seeds and the paper's numbers beside ours. The
# baselines (experiment.baselines) have no grid: they go straight to the same final test.


rule fit_final:
    """The final fit of a model's chosen point, or of a baseline (no grid), over the seeds."""
    input:
        unpack(final_inputs),
    output:
        metrics="results/final/{task}/{split}/u{prop}/{model}.tsv",
        timings="results/final/{task}/{split}/u{prop}/{model}.timings.tsv",
        predictions="results/final/{task}/{split}/u{prop}/{model}.predictions.tsv",
        pools="results/final/{task}/{split}/u{prop}/{model}.pools.tsv",
        models=directory("results/final/{task}/{split}/u{prop}/{model}.models"),
    log:
        "results/logs/final/{task}_{split}_u{prop}_{model}.log",
    wildcard_constraints:
        model="|".join(re.escape(m) for m in ALL_MODELS + BASELINE_MODELS),
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=1000,
    params:
        spec=fit_job("final"),
    shell:
        "python -m pssnmf.experiment job --spec {params.spec:q} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q}"
        " --models-dir {output.models:q} --predictions-out {output.predictions:q}"
        " --pools-out {output.pools:q} > {log:q} 2>&1"


rule table1:
    input:
        metrics=expand_final("results/final/{task}/{split}/u{prop}/{model}.tsv"),
        predictions=expand_final(
            "results/final/{task}/{split}/u{prop}/{model}.predictions.tsv"
        ),
    output:
        tsv=report(
            "results/tables/table1.tsv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        md="results/tables/table1.md",
    log:
        "results/logs/tables/table1.log",
    conda:
        ENV
    threads: 1
    params:
        n_boot=EXPERIMENT["evaluation"]["n_boot"],
        seed=EXPERIMENT["seed"],
    shell:
        "python -m pssnmf.experiment table1 --metrics {input.metrics:q}"
        " --predictions {input.predictions:q} --out-tsv {output.tsv:q} --out-md {output.md:q}"
        " --n-boot {params.n_boot:q} --seed {params.seed:q} > {log:q} 2>&1"


rule export_model:
    """The final model users apply with `pssnmf predict`, under a stable path; with its screening
    cut-offs (chosen on the validation pool) in its metadata where the task has pools (DDRd).
    """
    input:
        unpack(export_inputs),
    output:
        "results/models/{task}.npz",
    log:
        "results/logs/export/{task}.log",
    conda:
        ENV
    threads: 1
    params:
        fpr=SCREENING["fpr"],
    shell:
        "python -m pssnmf.experiment export-model --models-dir {input.models:q}"
        " --pools {input.pools:q} --predictions {input.predictions:q} --fpr {params.fpr:q}"
        " --out {output:q} > {log:q} 2>&1"


rule fit_crossfit:
    """The final fit again per validation fold k, with fold k's tumours with truth swapped for the
    test set's: each DDRd tumour with truth is scored by a model that never saw it (screening).
    """
    input:
        unpack(final_inputs),
    output:
        metrics="results/crossfit/{task}/{split}/u{prop}/{model}.tsv",
        timings="results/crossfit/{task}/{split}/u{prop}/{model}.timings.tsv",
        predictions="results/crossfit/{task}/{split}/u{prop}/{model}.predictions.tsv",
    log:
        "results/logs/crossfit/{task}_{split}_u{prop}_{model}.log",
    wildcard_constraints:
        task="ddrd",
    conda:
        ENV
    threads: 1
    resources:
        runtime=240,
        mem_mb=1000,
    params:
        spec=fit_job("crossfit"),
    shell:
        "python -m pssnmf.experiment job --spec {params.spec:q} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q}"
        " --predictions-out {output.predictions:q} > {log:q} 2>&1"


# Screening (docs/protocol.md, "Screening"): the DDRd final models' per-pathway scores against the
# proficient tumour pools the folds set aside; cut-offs from the validation pool.
rule screening_table:
    input:
        predictions=expand(
            "results/final/ddrd/{split}/u{prop}/{model}.predictions.tsv",
            split=SPLITS,
            prop=PROPORTIONS,
            model=ALL_MODELS + BASELINE_MODELS,
        ),
        pools=expand(
            "results/final/ddrd/{split}/u{prop}/{model}.pools.tsv",
            split=SPLITS,
            prop=PROPORTIONS,
            model=ALL_MODELS + BASELINE_MODELS,
        ),
        crossfit=expand(
            "results/crossfit/ddrd/{split}/u{prop}/{model}.predictions.tsv",
            split=SPLITS,
            prop=PROPORTIONS,
            model=ALL_MODELS + BASELINE_MODELS,
        ),
        folds=expand("results/folds/ddrd/{split}/membership.tsv", split=SPLITS),
        cosmic=cosmic_outputs()[1],
    output:
        tsv=report(
            "results/tables/screening.tsv",
            caption="../report/screening.rst",
            category="Tables",
        ),
        md="results/tables/screening.md",
        tcga="results/tables/screening_tcga.tsv",
    log:
        "results/logs/tables/screening.log",
    conda:
        ENV
    threads: 1
    params:
        fold_dirs=lambda w, input: [str(Path(f).parent) for f in input.folds],
        fpr=SCREENING["fpr"],
        n_boot=EXPERIMENT["evaluation"]["n_boot"],
        seed=EXPERIMENT["seed"],
        hypermutated=SCREENING["hypermutated_min_mutations"],
        min_mmr_share=SCREENING["min_mmr_share"],
    shell:
        "python -m pssnmf.screening table --predictions {input.predictions:q} --pools {input.pools:q}"
        " --crossfit {input.crossfit:q} --folds {params.fold_dirs:q} --cosmic {input.cosmic:q}"
        " --out-tsv {output.tsv:q} --out-tcga {output.tcga:q}"
        " --out-md {output.md:q} --fpr {params.fpr:q} --n-boot {params.n_boot:q} --seed {params.seed:q}"
        " --hypermutated-min {params.hypermutated:q} --min-mmr-share {params.min_mmr_share:q}"
        " > {log:q} 2>&1"


rule screening_roc:
    input:
        predictions=expand(
            "results/final/ddrd/{{split}}/u{{prop}}/{model}.predictions.tsv",
            model=ALL_MODELS + BASELINE_MODELS,
        ),
        pools=expand(
            "results/final/ddrd/{{split}}/u{{prop}}/{model}.pools.tsv",
            model=ALL_MODELS + BASELINE_MODELS,
        ),
        crossfit=expand(
            "results/crossfit/ddrd/{{split}}/u{{prop}}/{model}.predictions.tsv",
            model=ALL_MODELS + BASELINE_MODELS,
        ),
        folds="results/folds/ddrd/{split}/membership.tsv",
        cosmic=cosmic_outputs()[1],
    output:
        report(
            multiext(
                "results/figures/screening_roc_{split}_u{prop}", ".png", ".svg", ".tsv"
            ),
            caption="../report/screening_roc.rst",
            category="Screening",
        ),
    log:
        "results/logs/figures/screening_roc_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        fold_dir=lambda w, input: str(Path(input.folds).parent),
        stem=lambda w, output: output[0].removesuffix(".png"),
    shell:
        "python -m pssnmf.screening roc --predictions {input.predictions:q} --pools {input.pools:q}"
        " --crossfit {input.crossfit:q} --folds {params.fold_dir:q} --cosmic {input.cosmic:q} --split-mode {wildcards.split:q}"
        " --proportion {wildcards.prop:q} --out {params.stem:q} > {log:q} 2>&1"


rule release_model:
    """The exported model's chosen point retrained on all of the task's data, with its provenance
    (pssnmf.release): the model a user applies to new tumours (`pssnmf predict`)."""
    input:
        unpack(release_inputs),
    output:
        "results/release/{task}.npz",
    log:
        "results/logs/release/{task}.log",
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=2000,
    params:
        spec=release_job,
        n_folds=EXPERIMENT["folds"]["n_folds"],
        per_class=EXPERIMENT["folds"]["per_class"],
    shell:
        "python -m pssnmf.release --spec {params.spec:q} --catalog {input.catalog:q}"
        " --samples {input.samples:q} --n-folds {params.n_folds:q} --per-class {params.per_class:q}"
        " --out {output:q} > {log:q} 2>&1"
