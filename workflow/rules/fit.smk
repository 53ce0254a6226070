# Fits (paper 2.2.4): every grid point x fold x restart. A job is one (model, K, fold) and
# fits every (lambda_c, lambda_l2) of the grid for it, all restarts at once: long enough that
# Snakemake's own cost per job stays small beside the fits (benchmarks/RESULTS.md), few enough
# jobs for the scheduler. Each job writes one small metrics TSV; aggregation reads those.
# PSS-NMF(-UR) sweep the confidence threshold on the chosen point of their SS-NMF(-UR) base
# (a second stage after `select_base`).


rule fit_grid:
    input:
        unpack(fold_files),
    output:
        metrics="results/fits/{task}/{split}/u{prop}/{model}/K{k}_fold{fold}.tsv",
        timings="results/fits/{task}/{split}/u{prop}/{model}/K{k}_fold{fold}.timings.tsv",
        models=directory(
            "results/fits/{task}/{split}/u{prop}/{model}/K{k}_fold{fold}.models"
        ),
    log:
        "results/logs/fit/{task}_{split}_u{prop}_{model}_K{k}_fold{fold}.log",
    wildcard_constraints:
        model="|".join(GRID_MODELS),
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=1000,
    params:
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        points=grid_points,
        seed=EXPERIMENT["seed"],
        fit=fit_options,
    shell:
        "python -m pssnmf.experiment fit --fold-dir {params.fold_dir:q} --task {wildcards.task:q}"
        " --split-mode {wildcards.split:q} --proportion {wildcards.prop:q} --seed {params.seed:q}"
        " {params.points} {params.fit} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q} --models-dir {output.models:q}"
        " > {log:q} 2>&1"


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
        metrics="results/fits/{task}/{split}/u{prop}/{model}/ct_fold{fold}.tsv",
        timings="results/fits/{task}/{split}/u{prop}/{model}/ct_fold{fold}.timings.tsv",
        models=directory(
            "results/fits/{task}/{split}/u{prop}/{model}/ct_fold{fold}.models"
        ),
    log:
        "results/logs/fit/{task}_{split}_u{prop}_{model}_ct_fold{fold}.log",
    wildcard_constraints:
        model="|".join(PSS_MODELS),
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=1000,
    params:
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        points=ct_points,
        seed=EXPERIMENT["seed"],
        fit=fit_options,
    shell:
        "python -m pssnmf.experiment fit --fold-dir {params.fold_dir:q} --task {wildcards.task:q}"
        " --split-mode {wildcards.split:q} --proportion {wildcards.prop:q} --seed {params.seed:q}"
        " --optimum {input.optimum:q} {params.points} {params.fit} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q} --models-dir {output.models:q}"
        " > {log:q} 2>&1"
