# tierbench: the same k6 load against each runtime under each resource tier.
from snakemake.utils import min_version

min_version("9.0")


# The reference stack's config, unless a config of your own is given with --configfile:
# yours is then complete on its own (what it omits takes the schema's defaults), and
# --config KEY=VALUE overrides either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/load.smk"
include: "workflow/rules/tidy.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/charts.smk"
include: "workflow/rules/capacity.smk"
include: "workflow/rules/tracing.smk"


rule all:
    input:
        rules.sweep.input,
        "results/summary.md",
        rules.charts.input,
