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
