# The tracing-overhead sweep: `snakemake tracing`. Each runtime beside its twin with
# tracing off (`{runtime}-notrace`, the config's `tracing.off_environment`) at the
# `tracing.tiers`: a capacity search of each, then holds of both at one fixed rate,
# interleaved; a table and a chart of what tracing costs at each tier.


rule tracing_capacity_search:
    input:
        script=SWEEP.k6_script,
        compose=SWEEP.compose_file,
        images=tracing_cell_images,
        earlier=earlier_tracing_search,
    output:
        record="results/tracing/capacity/{tcell}.json",
        steps="results/tracing/capacity/steps/{tcell}.csv",
        resources="results/tracing/capacity/resources/{tcell}.csv",
        raw=directory("results/tracing/capacity/k6/{tcell}"),
    log:
        "logs/tracing/capacity/{tcell}.log",
    conda:
        "../../envs/tierbench.yaml"
    resources:
        load_slot=1,
    params:
        settings=tracing_cell_settings,
    script:
        "../scripts/capacity_search.py"


rule tracing_holds:
    input:
        traced="results/tracing/capacity/{tcell}.json",
        untraced=untraced_record,
        images=tracing_cell_images,
    output:
        holds="results/tracing/holds/{tcell}.csv",
        raw=directory("results/tracing/k6/{tcell}"),
    log:
        "logs/tracing/holds/{tcell}.log",
    conda:
        "../../envs/tierbench.yaml"
    resources:
        load_slot=1,
    params:
        settings=tracing_hold_settings,
    script:
        "../scripts/tracing_holds.py"


rule tracing_table:
    input:
        holds=expand("results/tracing/holds/{tcell}.csv", tcell=TRACED_CELLS),
        records=expand("results/tracing/capacity/{tcell}.json", tcell=TRACING_CELLS),
    output:
        csv=report(
            "results/tracing.csv", caption="../report/tracing.rst", category="Tracing"
        ),
        parquet="results/tracing.parquet",
        md=report(
            "results/tracing.md", caption="../report/tracing.rst", category="Tracing"
        ),
    log:
        "logs/tracing/table.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        tracing=TRACING_SETTINGS,
    script:
        "../scripts/tracing_table.py"


rule tracing_chart:
    input:
        table="results/tracing.parquet",
    output:
        png=report(
            "results/charts/tracing.png",
            caption="../report/tracing.rst",
            category="Tracing",
        ),
        html=report(
            "results/charts/tracing.html",
            caption="../report/tracing.rst",
            category="Tracing",
        ),
    log:
        "logs/charts/tracing.log",
    conda:
        "../../envs/tierbench.yaml"
    script:
        "../scripts/charts_tracing.py"


rule tracing:
    input:
        rules.tracing_table.output,
        rules.tracing_chart.output,
