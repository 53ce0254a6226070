"""Downloads -> SBS96 catalogs and samples tables for both tasks (pssnmf.data)."""


rule zou_catalog:
    input:
        tables=source_path("zou2021_tables"),
    output:
        catalog="results/data/zou2021/catalog.tsv",
        samples="results/data/zou2021/samples.tsv",
    log:
        "results/logs/data/zou_catalog.log",
    conda:
        ENV
    threads: 1
    params:
        classes=json.dumps(DDRD_CLASSES),
    shell:
        "python -m pssnmf.data zou --tables {input.tables:q} --classes {params.classes:q}"
        " --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"


if DATA["tcga_route"] == "catalog":

    rule tcga_catalog:
        input:
            catalog=source_path("tcga_mc3_catalog"),
            samples=source_path("tcga_mc3_samples"),
        output:
            catalog="results/data/tcga/catalog.tsv",
            samples="results/data/tcga/samples.tsv",
        log:
            "results/logs/data/tcga_catalog.log",
        conda:
            ENV
        threads: 1
        shell:
            "python -m pssnmf.data tcga-catalog --catalog {input.catalog:q}"
            " --samples {input.samples:q} --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"

else:

    rule tcga_catalog_from_maf:
        input:
            maf=source_path("mc3_maf"),
            clinical=source_path("tcga_cdr"),
        output:
            catalog="results/data/tcga/catalog.tsv",
            samples="results/data/tcga/samples.tsv",
        log:
            "results/logs/data/tcga_catalog_from_maf.log",
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=8000,
        params:
            sample_types=DATA["tcga_sample_types"],
        shell:
            "python -m pssnmf.data tcga-maf --maf {input.maf:q} --clinical {input.clinical:q}"
            " --sample-types {params.sample_types:q} --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"


rule ddr_status:
    input:
        volkova=source_path("volkova2020_table4"),
        samples="results/data/tcga/samples.tsv",
    output:
        status="results/data/tcga/ddr_status.tsv",
        unmatched="results/data/tcga/ddr_unmatched.tsv",
    log:
        "results/logs/data/ddr_status.log",
    conda:
        ENV
    threads: 1
    params:
        pathways=DDR_PATHWAYS,
    shell:
        "python -m pssnmf.data ddr-status --volkova {input.volkova:q}"
        " --tcga-samples {input.samples:q} --pathways {params.pathways:q}"
        " --out {output.status:q} --unmatched {output.unmatched:q} > {log:q} 2>&1"


if DATA["cell_lines"] == "gdsc":

    rule gdsc_catalog:
        input:
            csv=source_path("gdsc_catalog"),
        output:
            catalog="results/data/cell_lines/catalog.tsv",
            samples="results/data/cell_lines/samples.tsv",
        log:
            "results/logs/data/gdsc_catalog.log",
        conda:
            ENV
        threads: 1
        shell:
            "python -m pssnmf.data gdsc --csv {input.csv:q} --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"

else:

    rule ccle_catalog:
        input:
            mutations=source_path("depmap_mutations"),
            sample_info=source_path("depmap_sample_info"),
            fasta="results/reference/GRCh37.fa",
            fai="results/reference/GRCh37.fa.fai",
            type_map=CCLE_TYPE_MAP,
        output:
            catalog="results/data/cell_lines/catalog.tsv",
            samples="results/data/cell_lines/samples.tsv",
        log:
            "results/logs/data/ccle_catalog.log",
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=4000,
        shell:
            "python -m pssnmf.data ccle --mutations {input.mutations:q}"
            " --sample-info {input.sample_info:q} --fasta {input.fasta:q}"
            " --type-map {input.type_map:q} --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"


rule select_cancer_types:
    input:
        cell_catalog="results/data/cell_lines/catalog.tsv",
        cell_samples="results/data/cell_lines/samples.tsv",
        tcga_catalog="results/data/tcga/catalog.tsv",
        tcga_samples="results/data/tcga/samples.tsv",
    output:
        selection=report(
            "results/data/cancer_type/selection.tsv",
            caption="../report/cancer_type_selection.rst",
            category="Data",
        ),
        tuples="results/data/cancer_type/selection_tuples.tsv",
        cosine_cell_lines="results/data/cancer_type/cosine_cell_lines.tsv",
        cosine_tumours="results/data/cancer_type/cosine_tumours.tsv",
        cosine_cross="results/data/cancer_type/cosine_cross.tsv",
        types="results/data/cancer_type/types.txt",
    log:
        "results/logs/data/select_cancer_types.log",
    conda:
        ENV
    threads: 1
    params:
        min_cell_lines=TASKS["cancer_type"]["min_cell_lines"],
        min_tumours=TASKS["cancer_type"]["min_tumours"],
        n_clusters=TASKS["cancer_type"]["n_clusters"],
        types=TASKS["cancer_type"]["types"] or [],
    shell:
        "python -m pssnmf.data select-cancer-types"
        " --cell-catalog {input.cell_catalog:q} --cell-samples {input.cell_samples:q}"
        " --tcga-catalog {input.tcga_catalog:q} --tcga-samples {input.tcga_samples:q}"
        " --min-cell-lines {params.min_cell_lines:q} --min-tumours {params.min_tumours:q}"
        " --n-clusters {params.n_clusters:q} --types {params.types:q}"
        " --out-selection {output.selection:q} --out-tuples {output.tuples:q}"
        " --out-cosine-cell-lines {output.cosine_cell_lines:q}"
        " --out-cosine-tumours {output.cosine_tumours:q}"
        " --out-cosine-cross {output.cosine_cross:q} --out-types {output.types:q} > {log:q} 2>&1"


rule ddrd_task:
    input:
        zou_catalog="results/data/zou2021/catalog.tsv",
        zou_samples="results/data/zou2021/samples.tsv",
        tcga_catalog="results/data/tcga/catalog.tsv",
        tcga_samples="results/data/tcga/samples.tsv",
        status="results/data/tcga/ddr_status.tsv",
    output:
        catalog="results/data/ddrd/catalog.tsv",
        samples=report(
            "results/data/ddrd/samples.tsv",
            caption="../report/task_samples.rst",
            category="Data",
        ),
    log:
        "results/logs/data/ddrd_task.log",
    conda:
        ENV
    threads: 1
    params:
        classes=json.dumps(DDRD_CLASSES),
        subsample=str(DATA["subsample_tumours"]),
        seed=DATA["seed"],
    shell:
        "python -m pssnmf.data ddrd-task"
        " --zou-catalog {input.zou_catalog:q} --zou-samples {input.zou_samples:q}"
        " --tcga-catalog {input.tcga_catalog:q} --tcga-samples {input.tcga_samples:q}"
        " --ddr-status {input.status:q} --classes {params.classes:q}"
        " --subsample-tumours {params.subsample:q} --seed {params.seed:q}"
        " --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"


rule cancer_type_task:
    input:
        cell_catalog="results/data/cell_lines/catalog.tsv",
        cell_samples="results/data/cell_lines/samples.tsv",
        tcga_catalog="results/data/tcga/catalog.tsv",
        tcga_samples="results/data/tcga/samples.tsv",
        types="results/data/cancer_type/types.txt",
    output:
        catalog="results/data/cancer_type/catalog.tsv",
        samples=report(
            "results/data/cancer_type/samples.tsv",
            caption="../report/task_samples.rst",
            category="Data",
        ),
    log:
        "results/logs/data/cancer_type_task.log",
    conda:
        ENV
    threads: 1
    params:
        subsample=str(DATA["subsample_tumours"]),
        seed=DATA["seed"],
    shell:
        "python -m pssnmf.data cancer-type-task"
        " --cell-catalog {input.cell_catalog:q} --cell-samples {input.cell_samples:q}"
        " --tcga-catalog {input.tcga_catalog:q} --tcga-samples {input.tcga_samples:q}"
        " --types-file {input.types:q}"
        " --subsample-tumours {params.subsample:q} --seed {params.seed:q}"
        " --out-catalog {output.catalog:q} --out-samples {output.samples:q} > {log:q} 2>&1"


rule cosmic_signatures:
    input:
        table=lambda wildcards: source_path(
            f"cosmic_{wildcards.version}_SBS_GRCh37{wildcards.suffix}"
        ),
    output:
        "results/data/cosmic/COSMIC_{version}_SBS_GRCh37{suffix}.txt",
    log:
        "results/logs/data/cosmic_{version}{suffix}.log",
    wildcard_constraints:
        version=r"v[0-9.]+",
        suffix="|_exome",
    conda:
        ENV
    threads: 1
    shell:
        "python -m pssnmf.data cosmic --input {input.table:q} --out {output:q} > {log:q} 2>&1"


rule opportunity_ratio:
    """The per-channel genome/exome opportunity ratio, derived from COSMIC's two files."""
    input:
        genome=cosmic_outputs()[0],
        exome=cosmic_outputs()[1],
    output:
        OPPORTUNITY_RATIO,
    log:
        "results/logs/data/opportunity_ratio.log",
    conda:
        ENV
    threads: 1
    shell:
        "python -m pssnmf.opportunity --genome {input.genome:q} --exome {input.exome:q}"
        " --out {output:q} > {log:q} 2>&1"
