"""Fetch public sources (resources/sources.yaml), checksummed, from their URLs or data.mirror."""


onstart:
    check_downloads_reachable()


# Compute nodes of a cluster often have no internet: download on the submit host.
localrules:
    fetch,


rule fetch:
    output:
        f"{DOWNLOAD_DIR}/{{mirror_path}}",
    log:
        "results/logs/fetch/{mirror_path}.log",
    wildcard_constraints:
        mirror_path="|".join(re.escape(path) for path in SOURCE_BY_PATH),
    conda:
        ENV
    threads: 1
    params:
        manifest=MANIFEST,
        source=lambda wildcards: SOURCE_BY_PATH[wildcards.mirror_path]["id"],
        mirror=MIRROR,
        retries=DATA["retries"],
        first_seen=f"{DOWNLOAD_DIR}/first_seen",
    shell:
        "python -m pssnmf.data fetch --manifest {params.manifest:q} --source {params.source:q}"
        " --mirror {params.mirror:q} --retries {params.retries:q}"
        " --first-seen-dir {params.first_seen:q} --out {output:q} > {log:q} 2>&1"


rule unpack_reference:
    input:
        fasta_gz=source_path("grch37_fasta"),
    output:
        fasta="results/reference/GRCh37.fa",
        fai="results/reference/GRCh37.fa.fai",
    log:
        "results/logs/unpack_reference.log",
    conda:
        ENV
    threads: 1
    resources:
        disk_mb=4000,
    shell:
        "python -m pssnmf.data unpack-reference --input {input.fasta_gz:q}"
        " --out {output.fasta:q} --fai {output.fai:q} > {log:q} 2>&1"
