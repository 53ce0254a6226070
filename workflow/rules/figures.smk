# The paper's Tables 2-4, Figs. 2-18 and the SBS96 plots of every final model, each figure as
# PNG (in the report) + SVG + the TSV of the data it shows. Thin rules: `python -m pssnmf.figures`
# reads the workflow's files and calls pssnmf.plots / pssnmf.tables.
#
# Split modes: every figure is made for the main split (`grouped`, the leakage-free one, where
# configured); Table 1 (evaluate.smk), the confusion matrices and the Pareto fronts for every
# split mode too, so the reader sees the effect of near copies across the split.

MAIN_SPLIT = "grouped" if "grouped" in SPLITS else SPLITS[0]
FIGURES = "results/figures/{task}/{split}/u{prop}"
FIGURE_LABELS = {"task": "{task}", "split": "{split}", "unlabelled": "{prop}"}
# Fig. 6 compares S-NMF and PSS-NMF signatures; with other models configured, the first and last.
MATCHED_MODELS = [
    "S-NMF" if "S-NMF" in ALL_MODELS else ALL_MODELS[0],
    "PSS-NMF" if "PSS-NMF" in ALL_MODELS else ALL_MODELS[-1],
]


# Helpers are lambdas: `snakemake --lint` wants functions in common.smk, which this stage
# leaves to the experiment's owners.
# The three files of one figure: PNG, SVG and the TSV of its data.
figure_files = lambda stem: [f"{stem}.{ext}" for ext in ("png", "svg", "tsv")]
# The PNG of a figure, flagged for the report.
figure_report = lambda stem, rst, category, figure: report(
    f"{stem}.png",
    caption=f"../report/{rst}.rst",
    category=category,
    subcategory="{task}",
    labels={"figure": figure, **FIGURE_LABELS},
)
# Every validation fit (grid and ct sweep) of one task, split mode and proportion.
validation_fit_metrics = lambda w: grid_metrics(
    w.task, w.split, w.prop, GRID_MODELS
) + ct_metrics(w.task, w.split, w.prop)
ct_models_dirs = lambda w: expand(
    "results/fits/{task}/{split}/u{prop}/{model}/ct.models",
    task=w.task,
    split=w.split,
    prop=w.prop,
    model=PSS_MODELS,
)
final_files = lambda w, suffix: expand(
    "results/final/{task}/{split}/u{prop}/{model}{suffix}",
    task=w.task,
    split=w.split,
    prop=w.prop,
    model=ALL_MODELS,
    suffix=suffix,
)
# `MODEL=path` per final model, each shell-quoted.
final_model_args = lambda w, input: " ".join(
    shlex.quote(f"{model}={path}") for model, path in zip(ALL_MODELS, input.models)
)


rule table2:
    input:
        ddr_status="results/data/tcga/ddr_status.tsv",
    output:
        tsv=report(
            "results/tables/table2.tsv",
            caption="../report/table2.rst",
            category="Tables",
            labels={"table": "Table 2"},
        ),
        md="results/tables/table2.md",
    log:
        "results/logs/figures/table2.log",
    conda:
        ENV
    threads: 1
    params:
        stem=lambda w, output: output.tsv.removesuffix(".tsv"),
    shell:
        "python -m pssnmf.figures table2 --ddr-status {input.ddr_status:q}"
        " --out-stem {params.stem:q} > {log:q} 2>&1"


rule table3:
    input:
        metrics=lambda w: ct_metrics(w.task, w.split, PROPORTIONS),
    output:
        tsv=report(
            "results/tables/table3_{task}_{split}.tsv",
            caption="../report/table3.rst",
            category="Tables",
            labels={"table": "Table 3", "task": "{task}", "split": "{split}"},
        ),
        md="results/tables/table3_{task}_{split}.md",
    log:
        "results/logs/figures/table3_{task}_{split}.log",
    conda:
        ENV
    threads: 1
    params:
        stem=lambda w, output: output.tsv.removesuffix(".tsv"),
    shell:
        "python -m pssnmf.figures table3 --metrics {input.metrics:q}"
        " --out-stem {params.stem:q} > {log:q} 2>&1"


rule table4:
    input:
        metrics=lambda w: grid_metrics(w.task, w.split, PROPORTIONS, GRID_MODELS)
        + ct_metrics(w.task, w.split, PROPORTIONS),
        chosen=expand(
            "results/select/{{task}}/{{split}}/u{prop}/chosen.tsv", prop=PROPORTIONS
        ),
    output:
        tsv=report(
            "results/tables/table4_{task}_{split}.tsv",
            caption="../report/table4.rst",
            category="Tables",
            labels={"table": "Table 4", "task": "{task}", "split": "{split}"},
        ),
        md="results/tables/table4_{task}_{split}.md",
    log:
        "results/logs/figures/table4_{task}_{split}.log",
    conda:
        ENV
    threads: 1
    params:
        stem=lambda w, output: output.tsv.removesuffix(".tsv"),
    shell:
        "python -m pssnmf.figures table4 --metrics {input.metrics:q}"
        " --chosen {input.chosen:q} --out-stem {params.stem:q} > {log:q} 2>&1"


rule fig_validation:
    input:
        metrics=validation_fit_metrics,
        chosen="results/select/{task}/{split}/u{prop}/chosen.tsv",
    output:
        png=figure_report(
            f"{FIGURES}/fig02_validation",
            "fig02",
            "Validation (Figs. 2, 15-18)",
            "Fig. 2",
        ),
        svg=f"{FIGURES}/fig02_validation.svg",
        tsv=f"{FIGURES}/fig02_validation.tsv",
        png_ur=figure_report(
            f"{FIGURES}/fig15_18_validation_ur",
            "fig15_18",
            "Validation (Figs. 2, 15-18)",
            "Figs. 15-18",
        ),
        svg_ur=f"{FIGURES}/fig15_18_validation_ur.svg",
        tsv_ur=f"{FIGURES}/fig15_18_validation_ur.tsv",
    log:
        "results/logs/figures/validation_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        stem=lambda w, output: output.png.removesuffix(".png"),
        stem_ur=lambda w, output: output.png_ur.removesuffix(".png"),
    shell:
        "python -m pssnmf.figures validation --metrics {input.metrics:q}"
        " --chosen {input.chosen:q} --out-stem {params.stem:q}"
        " --out-stem-ur {params.stem_ur:q} > {log:q} 2>&1"


rule fig_pseudo_labels:
    input:
        unpack(fold_files),
        models=ct_models_dirs,
    output:
        png=figure_report(
            f"{FIGURES}/fig03_pseudo_labels",
            "fig03",
            "Pseudo-labels (Fig. 3)",
            "Fig. 3",
        ),
        svg=f"{FIGURES}/fig03_pseudo_labels.svg",
        tsv=f"{FIGURES}/fig03_pseudo_labels.tsv",
    log:
        "results/logs/figures/pseudo_labels_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        stem=lambda w, output: output.png.removesuffix(".png"),
    shell:
        "python -m pssnmf.figures pseudo-labels --fold-dir {params.fold_dir:q}"
        " --models-dir {input.models:q} --out-stem {params.stem:q} > {log:q} 2>&1"


rule fig_confusion:
    input:
        predictions=lambda w: final_files(w, ".predictions.tsv"),
    output:
        png=figure_report(
            f"{FIGURES}/fig04_confusion", "fig04", "Test results (Fig. 4)", "Fig. 4"
        ),
        svg=f"{FIGURES}/fig04_confusion.svg",
        tsv=f"{FIGURES}/fig04_confusion.tsv",
        png_ur=figure_report(
            f"{FIGURES}/fig04_confusion_ur",
            "fig04_ur",
            "Test results (Fig. 4)",
            "Fig. 4 with U.R.",
        ),
        svg_ur=f"{FIGURES}/fig04_confusion_ur.svg",
        tsv_ur=f"{FIGURES}/fig04_confusion_ur.tsv",
    log:
        "results/logs/figures/confusion_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        stem=lambda w, output: output.png.removesuffix(".png"),
        stem_ur=lambda w, output: output.png_ur.removesuffix(".png"),
    shell:
        "python -m pssnmf.figures confusion --predictions {input.predictions:q}"
        " --out-stem {params.stem:q} --out-stem-ur {params.stem_ur:q} > {log:q} 2>&1"


rule fig_pca:
    input:
        unpack(fold_files),
    output:
        png=figure_report(
            f"{FIGURES}/fig05_pca", "fig05", "Data (Figs. 5, 9)", "Fig. 5"
        ),
        svg=f"{FIGURES}/fig05_pca.svg",
        tsv=f"{FIGURES}/fig05_pca.tsv",
    log:
        "results/logs/figures/pca_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        opportunity=lambda w: opportunity_options(w.task),
        stem=lambda w, output: output.png.removesuffix(".png"),
    shell:
        "python -m pssnmf.figures pca --fold-dir {params.fold_dir:q} --task {wildcards.task:q}"
        " {params.opportunity}"
        " --split-mode {wildcards.split:q} --proportion {wildcards.prop:q}"
        " --out-stem {params.stem:q} > {log:q} 2>&1"


rule fig_signatures:
    input:
        unpack(fold_files),
        models=lambda w: final_files(w, ".models"),
        cosmic=cosmic_outputs()[0],
    output:
        fig6=figure_report(
            f"{FIGURES}/fig06_matched_similarity",
            "fig06",
            "Signatures (Figs. 6-8, SBS96)",
            "Fig. 6",
        ),
        fig6_svg=f"{FIGURES}/fig06_matched_similarity.svg",
        fig6_tsv=f"{FIGURES}/fig06_matched_similarity.tsv",
        fig7=figure_report(
            f"{FIGURES}/fig07_cosmic_similarity",
            "fig07",
            "Signatures (Figs. 6-8, SBS96)",
            "Fig. 7",
        ),
        fig7_svg=f"{FIGURES}/fig07_cosmic_similarity.svg",
        fig7_tsv=f"{FIGURES}/fig07_cosmic_similarity.tsv",
        fig8=figure_report(
            f"{FIGURES}/fig08_exposures",
            "fig08",
            "Signatures (Figs. 6-8, SBS96)",
            "Fig. 8",
        ),
        fig8_svg=f"{FIGURES}/fig08_exposures.svg",
        fig8_tsv=f"{FIGURES}/fig08_exposures.tsv",
        sbs96=[
            report(
                f"{FIGURES}/sbs96/{model}.png",
                caption="../report/sbs96.rst",
                category="Signatures (Figs. 6-8, SBS96)",
                subcategory="{task}",
                labels={"figure": f"SBS96 {model}", **FIGURE_LABELS},
            )
            for model in ALL_MODELS
        ],
        sbs96_data=[
            f"{FIGURES}/sbs96/{model}.{ext}"
            for model in ALL_MODELS
            for ext in ("svg", "tsv")
        ],
    log:
        "results/logs/figures/signatures_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        models=final_model_args,
        matched=MATCHED_MODELS,
        fig6=lambda w, output: output.fig6.removesuffix(".png"),
        fig7=lambda w, output: output.fig7.removesuffix(".png"),
        fig8=lambda w, output: output.fig8.removesuffix(".png"),
        sbs96_dir=lambda w, output: os.path.dirname(output.sbs96[0]),
        opportunity=lambda w: opportunity_options(w.task),
    shell:
        "python -m pssnmf.figures signatures --fold-dir {params.fold_dir:q} {params.opportunity}"
        " --task {wildcards.task:q} --split-mode {wildcards.split:q}"
        " --proportion {wildcards.prop:q} --final-models {params.models}"
        " --cosmic {input.cosmic:q} --matched {params.matched:q}"
        " --fig6-stem {params.fig6:q} --fig7-stem {params.fig7:q}"
        " --fig8-stem {params.fig8:q} --sbs96-dir {params.sbs96_dir:q} > {log:q} 2>&1"


rule fig_pareto:
    input:
        metrics=validation_fit_metrics,
        chosen="results/select/{task}/{split}/u{prop}/chosen.tsv",
    output:
        png=figure_report(
            f"{FIGURES}/fig10_14_pareto",
            "fig10_14",
            "Model selection (Figs. 10-14)",
            "Figs. 10-14",
        ),
        svg=f"{FIGURES}/fig10_14_pareto.svg",
        tsv=f"{FIGURES}/fig10_14_pareto.tsv",
    log:
        "results/logs/figures/pareto_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        min_stability=EXPERIMENT["selection"]["min_stability"],
        stem=lambda w, output: output.png.removesuffix(".png"),
    shell:
        "python -m pssnmf.figures pareto --metrics {input.metrics:q}"
        " --chosen {input.chosen:q} --min-stability {params.min_stability:q}"
        " --out-stem {params.stem:q} > {log:q} 2>&1"


EXPLORATION = "results/figures/cancer_type/data"


rule fig_exploration:
    input:
        cell_line_samples="results/data/cell_lines/samples.tsv",
        cell_line_catalog="results/data/cell_lines/catalog.tsv",
        tcga_samples="results/data/tcga/samples.tsv",
        tcga_catalog="results/data/tcga/catalog.tsv",
        selection="results/data/cancer_type/selection.tsv",
        types="results/data/cancer_type/types.txt",
    output:
        counts=report(
            f"{EXPLORATION}/fig09ab_samples_per_cancer_type.png",
            caption="../report/fig09ab.rst",
            category="Data (Figs. 5, 9)",
            subcategory="cancer_type",
            labels={"figure": "Fig. 9 (a, b)", "task": "cancer_type"},
        ),
        counts_data=figure_files(f"{EXPLORATION}/fig09ab_samples_per_cancer_type")[1:],
        cell_lines=report(
            f"{EXPLORATION}/fig09c_clustermap_cell_lines.png",
            caption="../report/fig09cd.rst",
            category="Data (Figs. 5, 9)",
            subcategory="cancer_type",
            labels={"figure": "Fig. 9 (c)", "task": "cancer_type"},
        ),
        cell_lines_data=figure_files(f"{EXPLORATION}/fig09c_clustermap_cell_lines")[1:],
        tcga=report(
            f"{EXPLORATION}/fig09d_clustermap_tcga.png",
            caption="../report/fig09cd.rst",
            category="Data (Figs. 5, 9)",
            subcategory="cancer_type",
            labels={"figure": "Fig. 9 (d)", "task": "cancer_type"},
        ),
        tcga_data=figure_files(f"{EXPLORATION}/fig09d_clustermap_tcga")[1:],
        cross=report(
            f"{EXPLORATION}/fig09e_cell_lines_vs_tcga.png",
            caption="../report/fig09e.rst",
            category="Data (Figs. 5, 9)",
            subcategory="cancer_type",
            labels={"figure": "Fig. 9 (e)", "task": "cancer_type"},
        ),
        cross_data=figure_files(f"{EXPLORATION}/fig09e_cell_lines_vs_tcga")[1:],
    log:
        "results/logs/figures/exploration.log",
    conda:
        ENV
    threads: 1
    params:
        min_cell_lines=TASKS["cancer_type"]["min_cell_lines"],
        min_tumours=TASKS["cancer_type"]["min_tumours"],
        counts=lambda w, output: output.counts.removesuffix(".png"),
        cell_lines=lambda w, output: output.cell_lines.removesuffix(".png"),
        tcga=lambda w, output: output.tcga.removesuffix(".png"),
        cross=lambda w, output: output.cross.removesuffix(".png"),
    shell:
        "python -m pssnmf.figures exploration"
        " --cell-line-samples {input.cell_line_samples:q}"
        " --cell-line-catalog {input.cell_line_catalog:q}"
        " --tcga-samples {input.tcga_samples:q} --tcga-catalog {input.tcga_catalog:q}"
        " --selection {input.selection:q} --types {input.types:q}"
        " --min-cell-lines {params.min_cell_lines:q} --min-tumours {params.min_tumours:q}"
        " --counts-stem {params.counts:q} --clustermap-cell-lines-stem {params.cell_lines:q}"
        " --clustermap-tcga-stem {params.tcga:q} --cross-stem {params.cross:q} > {log:q} 2>&1"


# ---- Beyond the paper: calibration and the genome/exome opportunity comparison -------------

# The validation fits' model folders of one task, split and proportion (every model, K, fold).
validation_models_dirs = lambda w: [
    f"{path.removesuffix('.tsv')}.models" for path in validation_fit_metrics(w)
]


rule calibration:
    """Reliability curves and ECE of the final test predictions, raw and temperature-scaled."""
    input:
        unpack(fold_files),
        predictions=lambda w: final_files(w, ".predictions.tsv"),
        chosen="results/select/{task}/{split}/u{prop}/chosen.tsv",
        metrics=validation_fit_metrics,
        models=validation_models_dirs,
    output:
        png=figure_report(
            f"{FIGURES}/calibration_reliability",
            "calibration",
            "Beyond the paper",
            "Reliability curves",
        ),
        svg=f"{FIGURES}/calibration_reliability.svg",
        tsv=f"{FIGURES}/calibration_reliability.tsv",
        table=report(
            f"{FIGURES}/calibration_ece.tsv",
            caption="../report/calibration_ece.rst",
            category="Beyond the paper",
            subcategory="{task}",
            labels={"table": "ECE", **FIGURE_LABELS},
        ),
        md=f"{FIGURES}/calibration_ece.md",
    log:
        "results/logs/figures/calibration_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        fits_dir=lambda w: f"results/fits/{w.task}/{w.split}/u{w.prop}",
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        n_folds=EXPERIMENT["folds"]["n_folds"],
        opportunity=lambda w: opportunity_options(w.task),
        stem=lambda w, output: output.png.removesuffix(".png"),
        table_stem=lambda w, output: output.table.removesuffix(".tsv"),
    shell:
        "python -m pssnmf.figures calibration --predictions {input.predictions:q}"
        " --chosen {input.chosen:q} --fits-dir {params.fits_dir:q} --fold-dir {params.fold_dir:q}"
        " --proportion {wildcards.prop:q} --n-folds {params.n_folds:q} {params.opportunity}"
        " --out-stem {params.stem:q} --table-stem {params.table_stem:q} > {log:q} 2>&1"


rule uncertainty:
    """Test samples each final model leaves undetermined (pssnmf.uncertainty), and its accuracy
    on the determined and the undetermined ones."""
    input:
        unpack(fold_files),
        models=lambda w: final_files(w, ".models"),
    output:
        tsv=report(
            f"{FIGURES}/uncertainty.tsv",
            caption="../report/uncertainty.rst",
            category="Beyond the paper",
            subcategory="{task}",
            labels={"table": "Undetermined", **FIGURE_LABELS},
        ),
        md=f"{FIGURES}/uncertainty.md",
    log:
        "results/logs/figures/uncertainty_{task}_{split}_u{prop}.log",
    conda:
        ENV
    threads: 1
    params:
        fold_dir=lambda w: f"results/folds/{w.task}/{w.split}",
        models=final_model_args,
        seed=EXPERIMENT["seed"],
        opportunity=lambda w: opportunity_options(w.task),
        stem=lambda w, output: output.tsv.removesuffix(".tsv"),
    shell:
        "python -m pssnmf.figures uncertainty --fold-dir {params.fold_dir:q} --task {wildcards.task:q}"
        " --split-mode {wildcards.split:q} --proportion {wildcards.prop:q}"
        " --final-models {params.models} --seed {params.seed:q} {params.opportunity}"
        " --out-stem {params.stem:q} > {log:q} 2>&1"


# The comparison runs the final test at the scale the main protocol does not use.
OTHER_SCALE = "exome" if OPPORTUNITY == "none" else "none"
OPPORTUNITY_TASKS = [t for t in EXPERIMENT_TASKS if CELL_LINE_SCALE[t] != "exome"]


rule fit_final_other_scale:
    """The final fit of a chosen point again, at the other opportunity scale (same seeds)."""
    input:
        unpack(fold_files),
        optimum="results/select/{task}/{split}/u{prop}/chosen.tsv",
        ratio=OPPORTUNITY_RATIO,
    output:
        metrics="results/opportunity/{task}/{split}/u{prop}/{scale}/{model}.tsv",
        timings="results/opportunity/{task}/{split}/u{prop}/{scale}/{model}.timings.tsv",
        predictions="results/opportunity/{task}/{split}/u{prop}/{scale}/{model}.predictions.tsv",
    log:
        "results/logs/opportunity/{task}_{split}_u{prop}_{scale}_{model}.log",
    wildcard_constraints:
        model="|".join(ALL_MODELS),
        scale="none|exome",
    conda:
        ENV
    threads: 1
    resources:
        runtime=120,
        mem_mb=1000,
    params:
        # the `scale` wildcard replaces experiment.opportunity
        spec=fit_job("final"),
    shell:
        "python -m pssnmf.experiment job --spec {params.spec:q} --threads {threads}"
        " --metrics-out {output.metrics:q} --timings-out {output.timings:q}"
        " --predictions-out {output.predictions:q} > {log:q} 2>&1"


rule opportunity_table:
    """TCGA and cell-line F1 of the final models with and without genome/exome conversion."""
    input:
        main=expand(
            "results/final/{task}/{split}/u{prop}/{model}.predictions.tsv",
            task=OPPORTUNITY_TASKS,
            split=SPLITS,
            prop=PROPORTIONS,
            model=ALL_MODELS,
        ),
        other=expand(
            "results/opportunity/{task}/{split}/u{prop}/{scale}/{model}.predictions.tsv",
            task=OPPORTUNITY_TASKS,
            split=SPLITS,
            prop=PROPORTIONS,
            scale=OTHER_SCALE,
            model=ALL_MODELS,
        ),
    output:
        tsv=report(
            "results/tables/opportunity.tsv",
            caption="../report/opportunity.rst",
            category="Beyond the paper",
            labels={"table": "Genome/exome opportunity"},
        ),
        md="results/tables/opportunity.md",
    log:
        "results/logs/tables/opportunity.log",
    conda:
        ENV
    threads: 1
    params:
        main_scale=OPPORTUNITY,
        other_scale=OTHER_SCALE,
        n_boot=EXPERIMENT["evaluation"]["n_boot"],
        seed=EXPERIMENT["seed"],
        stem=lambda w, output: output.tsv.removesuffix(".tsv"),
    shell:
        "python -m pssnmf.figures opportunity --main-predictions {input.main:q}"
        " --other-predictions {input.other:q} --main-scale {params.main_scale:q}"
        " --other-scale {params.other_scale:q} --n-boot {params.n_boot:q} --seed {params.seed:q}"
        " --out-stem {params.stem:q} > {log:q} 2>&1"


figure_set = lambda stems, tasks, splits: [
    path
    for task in tasks
    for split in splits
    for prop in PROPORTIONS
    for stem in stems
    for path in figure_files(f"results/figures/{task}/{split}/u{prop}/{stem}")
]


FIGURE_TARGETS = (
    ["results/tables/table2.tsv", "results/tables/table2.md"]
    + expand(
        "results/tables/table4_{task}_{split}.{ext}",
        task=EXPERIMENT_TASKS,
        split=MAIN_SPLIT,
        ext=["tsv", "md"],
    )
    + figure_set(
        ["fig02_validation", "fig15_18_validation_ur", "fig05_pca"]
        + ["fig06_matched_similarity", "fig07_cosmic_similarity", "fig08_exposures"]
        + [f"sbs96/{model}" for model in ALL_MODELS],
        EXPERIMENT_TASKS,
        [MAIN_SPLIT],
    )
    + figure_set(
        ["fig04_confusion", "fig04_confusion_ur", "fig10_14_pareto"],
        EXPERIMENT_TASKS,
        SPLITS,
    )
    + [
        path
        for stem in (
            "fig09ab_samples_per_cancer_type",
            "fig09c_clustermap_cell_lines",
            "fig09d_clustermap_tcga",
            "fig09e_cell_lines_vs_tcga",
        )
        for path in figure_files(f"{EXPLORATION}/{stem}")
    ]
)
if PSS_MODELS:
    FIGURE_TARGETS += expand(
        "results/tables/table3_{task}_{split}.{ext}",
        task=EXPERIMENT_TASKS,
        split=MAIN_SPLIT,
        ext=["tsv", "md"],
    ) + figure_set(["fig03_pseudo_labels"], EXPERIMENT_TASKS, [MAIN_SPLIT])

FIGURE_TARGETS += figure_set(
    ["calibration_reliability"], EXPERIMENT_TASKS, [MAIN_SPLIT]
) + expand(
    "results/figures/{task}/{split}/u{prop}/{table}.{ext}",
    table=["calibration_ece", "uncertainty"],
    task=EXPERIMENT_TASKS,
    split=MAIN_SPLIT,
    prop=PROPORTIONS,
    ext=["tsv", "md"],
)
if EXPERIMENT["opportunity_comparison"] and OPPORTUNITY_TASKS:
    FIGURE_TARGETS += expand("results/tables/opportunity.{ext}", ext=["tsv", "md"])

FINAL_TARGETS += FIGURE_TARGETS
