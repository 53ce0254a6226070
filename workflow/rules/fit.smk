# Fits (paper 2.2.4): every grid point x fold x restart. A job is one (model, K) and fits every
# (lambda_c, lambda_l2) of the grid on every validation fold, all restarts at once: with the
# converging solver a fit takes a second or two, and a job's start (Python, scikit-learn and the
# compiled kernels: ~4 s) must stay small beside its fits (benchmarks/RESULTS.md). Each job
# writes one small metrics TSV (a row per fit, its fold in a column); aggregation reads those.
# PSS-NMF(-UR) sweep the confidence threshold on the chosen point of their SS-NMF(-UR) base
# (a second stage after `select_base`).


rule fit_grid:
    input:
        unpack(fold_files),
    output:
        metrics="results/fits/{task}/{split}/u{prop}/{model}/K{k}.tsv",
        timings="results/fits/{task}/{split}/u{prop}/{model}/K{k}.timings.tsv",
        models=directory("results/fits/{task}/{split}/u{prop}/{model}/K{k}.models"),
    log:
        "results/logs/fit/{task}_{split}_u{prop}_{model}_K{k}.log",
    wildcard_constraints:
        model="|".join(GRID_MODELS),
        k=r"\d+",
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=1000,
    params:
        spec=fit_job("grid"),
    shell:
        "python -m pssnmf.experiment job --spec {params.spec:q} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q}"
        " --models-dir {output.models:q} > {log:q} 2>&1"


rule select_base:
    input:
        lambda w: grid_metrics(w.task, w.split, w.prop, PSS_BASES),
    output:
        summary="results/select/{task}/{split}/u{prop}/base_summary.tsv",
        chosen="results/select/{task}/{split}/u{prop}/base_chosen.tsv",
    log:
        "results/logs/select/{task}_{split}_u{prop}_base.log",
    conda:
        ENV
    threads: 1
    params:
        min_stability=EXPERIMENT["selection"]["min_stability"],
        n_folds=EXPERIMENT["folds"]["n_folds"],
    shell:
        "python -m pssnmf.experiment select --metrics {input:q} --summary-out {output.summary:q}"
        " --chosen-out {output.chosen:q} --min-stability {params.min_stability:q}"
        " --n-folds {params.n_folds:q} > {log:q} 2>&1"


rule fit_ct:
    input:
        unpack(fold_files),
        optimum="results/select/{task}/{split}/u{prop}/base_chosen.tsv",
    output:
        metrics="results/fits/{task}/{split}/u{prop}/{model}/ct.tsv",
        timings="results/fits/{task}/{split}/u{prop}/{model}/ct.timings.tsv",
        models=directory("results/fits/{task}/{split}/u{prop}/{model}/ct.models"),
    log:
        "results/logs/fit/{task}_{split}_u{prop}_{model}_ct.log",
    wildcard_constraints:
        model="|".join(PSS_MODELS),
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=1000,
    params:
        spec=fit_job("ct"),
    shell:
        "python -m pssnmf.experiment job --spec {params.spec:q} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q}"
        " --models-dir {output.models:q} > {log:q} 2>&1"
