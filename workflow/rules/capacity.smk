# Capacity mode: `snakemake capacity`. Each runtime x tier's highest sustainable rate under
# the SLO (a search of open-model steps), the sweep's capacity table, right-sizing and the
# capacity charts. The seed sweep's rules are untouched.


rule capacity_search:
    input:
        script=SWEEP.k6_script,
        compose=SWEEP.compose_file,
        images=cell_images,
        earlier_repeat=earlier_capacity_search,
    output:
        record="results/capacity/{cell}.json",
        steps="results/capacity/steps/{cell}.csv",
        resources="results/capacity/resources/{cell}.csv",
        raw=directory("results/capacity/k6/{cell}"),
    log:
        "logs/capacity/{cell}.log",
    conda:
        "../../envs/tierbench.yaml"
    resources:
        load_slot=1,
    params:
        settings=capacity_cell_settings,
    script:
        "../scripts/capacity_search.py"


rule capacity_table:
    input:
        records=capacity_paths("results/capacity/{cell}.json"),
    output:
        csv=report(
            "results/capacity.csv",
            caption="../report/capacity.rst",
            category="Capacity",
        ),
        parquet="results/capacity.parquet",
        md=report(
            "results/capacity.md",
            caption="../report/capacity.rst",
            category="Capacity",
        ),
    log:
        "logs/capacity/table.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        runtimes=list(SWEEP.runtimes),
        thresholds=SWEEP.config["thresholds"],
    script:
        "../scripts/capacity_table.py"


rule recommendation:
    input:
        capacity="results/capacity.parquet",
        records=capacity_paths("results/capacity/{cell}.json"),
    output:
        md=report(
            "results/recommendation.md",
            caption="../report/recommendation.rst",
            category="Capacity",
        ),
        json="results/recommendation.json",
    log:
        "logs/capacity/recommendation.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        capacity=SWEEP.config["capacity"],
    script:
        "../scripts/capacity_recommend.py"


rule capacity_charts:
    input:
        capacity="results/capacity.parquet",
        records=capacity_paths("results/capacity/{cell}.json"),
        recommendation="results/recommendation.json",
        recommendation_md="results/recommendation.md",
    output:
        png=report(
            "results/charts/capacity.png",
            caption="../report/capacity_charts.rst",
            category="Capacity",
        ),
        gif=report(
            "results/charts/capacity.gif",
            caption="../report/capacity_charts.rst",
            category="Capacity",
        ),
        mp4="results/charts/capacity.mp4",
        html=report(
            "results/charts/capacity.html",
            caption="../report/capacity_charts.rst",
            category="Capacity",
        ),
    log:
        "logs/charts/capacity.log",
    conda:
        "../../envs/tierbench.yaml"
    params:
        charts=config.get("charts", {}),
    script:
        "../scripts/charts_capacity.py"


rule capacity:
    input:
        rules.capacity_table.output,
        rules.recommendation.output,
        rules.capacity_charts.output,
