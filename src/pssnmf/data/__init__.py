"""The data layer: public sources → SBS96 catalogs and labels for both tasks.

Modules, one per concept: ``sources`` (manifest, checksummed fetching), ``fasta``
(indexed reference access), ``substitutions`` (a substitution's SBS96 channel, the tally the
next two share), ``maf`` (MAF → SBS96), ``vcf`` (VCF → SBS96, for ``pssnmf predict --vcf``),
``zou`` (Zou 2021 knockouts), ``tcga`` (TCGA catalogs and DNA-repair status), ``cell_lines``
(GDSC, CCLE), ``selection`` (the paper's cancer-type choice), ``tasks`` (each task's catalog
and samples table).  ``python -m pssnmf.data`` runs them as workflow steps.
"""
