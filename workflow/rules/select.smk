# Model selection (paper 2.2.4): fold means per grid point, the Pareto front of (mean
# stability, mean cell-line accuracy) among points with stability >= selection.min_stability,
# and one chosen point per model (rule in pssnmf.selection). TCGA metrics are never used.


rule select:
    input:
        lambda w: grid_metrics(w.task, w.split, w.prop, GRID_MODELS)
        + ct_metrics(w.task, w.split, w.prop),
    output:
        summary=report(
            "results/select/{task}/{split}/u{prop}/summary.tsv",
            caption="../report/selection.rst",
            category="Model selection",
            labels={"task": "{task}", "split": "{split}", "unlabelled": "{prop}"},
        ),
        chosen="results/select/{task}/{split}/u{prop}/chosen.tsv",
    log:
        "results/logs/select/{task}_{split}_u{prop}.log",
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
