# The final test (paper 2.2.5): each model's chosen point trained on the whole validation set
# (fold "test"), scored on the test set, over evaluation.replicates seeds; Table 1 with
# bootstrap intervals, the spread over seeds and the paper's numbers beside ours. The
# baselines (experiment.baselines) have no grid: they go straight to the same final test.


rule fit_final:
    input:
        unpack(fold_files),
        optimum="results/select/{task}/{split}/u{prop}/chosen.tsv",
    output:
        metrics="results/final/{task}/{split}/u{prop}/{model}.tsv",
        timings="results/final/{task}/{split}/u{prop}/{model}.timings.tsv",
        predictions="results/final/{task}/{split}/u{prop}/{model}.predictions.tsv",
        models=directory("results/final/{task}/{split}/u{prop}/{model}.models"),
    log:
        "results/logs/final/{task}_{split}_u{prop}_{model}.log",
    wildcard_constraints:
        model="|".join(ALL_MODELS),
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
        " --models-dir {output.models:q} --predictions-out {output.predictions:q} > {log:q} 2>&1"


rule fit_baseline:
    input:
        unpack(baseline_inputs),
    output:
        metrics="results/final/{task}/{split}/u{prop}/{model}.tsv",
        timings="results/final/{task}/{split}/u{prop}/{model}.timings.tsv",
        predictions="results/final/{task}/{split}/u{prop}/{model}.predictions.tsv",
        models=directory("results/final/{task}/{split}/u{prop}/{model}.models"),
    log:
        "results/logs/final/{task}_{split}_u{prop}_{model}.log",
    wildcard_constraints:
        model="|".join(re.escape(m) for m in BASELINE_MODELS) or "(?!)",
    conda:
        ENV
    threads: 1
    resources:
        runtime=60,
        mem_mb=1000,
    params:
        spec=fit_job("final"),
    shell:
        "python -m pssnmf.experiment job --spec {params.spec:q} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q}"
        " --models-dir {output.models:q} --predictions-out {output.predictions:q} > {log:q} 2>&1"


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
    """The final model users apply with `pssnmf predict`, under a stable path."""
    input:
        models=lambda w: (
            f"results/final/{w.task}/{EXPORT['split_mode']}/u{EXPORT_PROPORTION}/"
            f"{EXPORT['model']}.models"
        ),
    output:
        "results/models/{task}.npz",
    log:
        "results/logs/export/{task}.log",
    conda:
        ENV
    threads: 1
    shell:
        "python -m pssnmf.experiment export-model --models-dir {input.models:q}"
        " --out {output:q} > {log:q} 2>&1"
