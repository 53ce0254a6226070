# Folds (paper 2.2.3, docs/protocol.md, "Splits and bootstrapping"): per task and split mode, one folder
# holding every row used (bootstraps and tumours) and the tidy membership table that says
# which rows train and evaluate each fit, for every unlabelled proportion.


rule folds:
    input:
        catalog="results/data/{task}/catalog.tsv",
        samples="results/data/{task}/samples.tsv",
    output:
        catalog="results/folds/{task}/{split}/catalog.tsv",
        membership="results/folds/{task}/{split}/membership.tsv",
        settings="results/folds/{task}/{split}/settings.json",
    log:
        "results/logs/folds/{task}_{split}.log",
    conda:
        ENV
    threads: 1
    params:
        out_dir=lambda w, output: str(Path(output.membership).parent),
        seed=EXPERIMENT["seed"],
        n_folds=EXPERIMENT["folds"]["n_folds"],
        test_fraction=EXPERIMENT["folds"]["test_fraction"],
        per_class=EXPERIMENT["folds"]["per_class"],
        test_per_class=lambda w: EXPERIMENT["folds"]["test_per_class"][w.task],
        proportions=EXPERIMENT["proportions"],
    shell:
        "python -m pssnmf.experiment folds --catalog {input.catalog:q} --samples {input.samples:q}"
        " --out-dir {params.out_dir:q} --task {wildcards.task:q} --split-mode {wildcards.split:q}"
        " --seed {params.seed:q} --n-folds {params.n_folds:q} --test-fraction {params.test_fraction:q}"
        " --per-class {params.per_class:q} --test-per-class {params.test_per_class:q}"
        " --proportions {params.proportions:q} > {log:q} 2>&1"
