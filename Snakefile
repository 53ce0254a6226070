"""PSS-NMF workflow: public data -> SBS96 catalogs -> models -> the paper's tables and figures.

One rule file per stage under workflow/rules/; common.smk validates the config and
holds FINAL_TARGETS, which each stage's rule file extends.
"""


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/catalogs.smk"
include: "workflow/rules/folds.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        FINAL_TARGETS,


rule data:
    input:
        DATA_TARGETS,


# Writes into the project's docs/, not results/: on the submit host, never a cluster job.
localrules:
    results_doc,


rule results_doc:
    """docs/results/ from this run's results/ (pssnmf.results_doc): the claims table with
    verdicts, the tables, key figures and a header recording the run. Not part of `all`:
    it rewrites the committed folder, so it runs only when asked for by name."""
    input:
        FINAL_TARGETS,
    output:
        directory("docs/results"),
    log:
        "results/logs/results_doc.log",
    conda:
        "envs/pssnmf.yaml"
    params:
        spec=lambda w, output: json.dumps(
            {
                "results": "results",
                "out": output[0],
                "config": config,
                "min_stability": EXPERIMENT["selection"]["min_stability"],
                "n_boot": EXPERIMENT["evaluation"]["n_boot"],
                "seed": EXPERIMENT["seed"],
            },
            sort_keys=True,
        ),
    shell:
        "python -m pssnmf.results_doc --spec {params.spec:q} > {log:q} 2>&1"
